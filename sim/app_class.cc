#include "sim/app_class.h"

#include <stdexcept>

namespace linklab::sim {

const char* AppClassName(AppClass c) {
  switch (c) {
    case AppClass::kBulk:
      return "bulk";
    case AppClass::kVideo:
      return "video";
    case AppClass::kGaming:
      return "gaming";
    case AppClass::kWeb:
      return "web";
    case AppClass::kCross:
      return "cross";
    case AppClass::kOther:
      return "other";
  }
  return "?";
}

AppClass ParseAppClass(const std::string& name, const std::string& what) {
  for (int i = 0; i < kNumAppClasses; ++i) {
    if (name == AppClassName(static_cast<AppClass>(i))) return static_cast<AppClass>(i);
  }
  throw std::invalid_argument(what + " = '" + name +
                              "': unknown application class; classes: bulk, video, gaming, "
                              "web, cross, other");
}

uint8_t DefaultDscp(AppClass c) {
  switch (c) {
    case AppClass::kBulk:
      return 8;
    case AppClass::kVideo:
      return 34;
    case AppClass::kGaming:
      return 46;
    case AppClass::kWeb:
      return 18;
    case AppClass::kCross:
      return 10;  // AF11: cross traffic, told apart from "other"
    case AppClass::kOther:
      return 0;
  }
  return 0;
}

AppClass ClassOfDscp(uint8_t dscp) {
  for (int i = 0; i < kNumAppClasses; ++i) {
    if (DefaultDscp(static_cast<AppClass>(i)) == dscp) return static_cast<AppClass>(i);
  }
  return AppClass::kOther;
}

int LatencyRank(AppClass c) {
  switch (c) {
    case AppClass::kGaming:
      return 0;
    case AppClass::kWeb:
      return 1;
    case AppClass::kVideo:
      return 2;
    case AppClass::kBulk:
      return 3;
    case AppClass::kCross:
      return 4;
    case AppClass::kOther:
      return 5;
  }
  return 5;
}

}  // namespace linklab::sim
