// SPDX-License-Identifier: MIT
#include "core/local_time.h"

#include <cstdio>
#include <ctime>

namespace pytrace {

std::string iso_time_now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm local;
  localtime_r(&ts.tv_sec, &local);
  char date[32], offset[8];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &local);
  strftime(offset, sizeof(offset), "%z", &local);  // +hhmm
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%06ld%.3s:%s", date, ts.tv_nsec / 1000, offset, offset + 3);
  return out;
}

}  // namespace pytrace
