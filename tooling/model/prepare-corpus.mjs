// Writes the King James Bible (Debian's public-domain `bible-kjv-text`, read with the
// `bible` program of `bible-kjv`) as plain text: one verse per line, verse numbers dropped,
// one blank line between chapters. Usage: node tooling/model/prepare-corpus.mjs OUT.txt
// (install the text first: apt-get install -y bible-kjv).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const out = process.argv[2];
if (!out) throw new Error('usage: prepare-corpus.mjs OUT.txt');
const raw = execFileSync('bible', ['-l1000', 'gen1:1-rev22:21'], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
const chapters = [];
let verses = [];
for (const line of raw.split('\n')) {
  const verse = /^\s+\d+ (.*)$/.exec(line);
  if (verse) verses.push(verse[1].trim());
  else if (/^(\d )?[A-Z][A-Za-z ]+ \d+$/.test(line)) {
    if (verses.length) chapters.push(verses.join('\n'));
    verses = [];
  } else if (line.trim() && verses.length) verses[verses.length - 1] += ` ${line.trim()}`;
}
if (verses.length) chapters.push(verses.join('\n'));
const count = chapters.reduce((n, c) => n + c.split('\n').length, 0);
if (chapters.length !== 1189 || count !== 31102)
  throw new Error(`expected 1189 chapters and 31102 verses, got ${chapters.length} and ${count}`);
writeFileSync(out, `${chapters.join('\n\n')}\n`);
console.log(`${out}: ${chapters.length} chapters, ${count} verses`);
