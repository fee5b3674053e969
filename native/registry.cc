// The global list of module init functions filled by EDGELB_REGISTER static initializers.
#include "registry.h"

namespace edgelb {

std::vector<Registration>& Registry() {
  static std::vector<Registration> list;
  return list;
}

}  // namespace edgelb
