#include "driver.h"

namespace rocmforge {

Driver* openDriver(const std::string& preference, const std::string& overridePath, std::vector<LoadAttempt>* attempts) {
  // auto: whichever driver loads and has at least one device, HIP first.
  if (preference == "hip") return openHipDriver(overridePath, attempts);
  if (preference == "cuda") return openCudaDriver(overridePath, attempts);
  for (auto* open : {openHipDriver, openCudaDriver}) {
    Driver* driver = open(overridePath, attempts);
    if (driver == nullptr) continue;
    int count = 0;
    try {
      count = driver->deviceCount();
    } catch (const DriverError& error) {
      attempts->back().outcome = "loaded, but " + error.call + " failed: " + error.name;
    }
    if (count > 0) return driver;
    if (attempts->back().outcome == "loaded") attempts->back().outcome = "loaded, but it reports no device";
    delete driver;
  }
  return nullptr;
}

}  // namespace rocmforge
