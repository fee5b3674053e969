// Pinned-map reuse and the pin folder (see bpf_pin.h).
#include "bpf_pin.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace edgelb {

bool MkdirP(const std::string& path) {
  for (int attempt = 0; attempt < 5; attempt++) {
    bool ok = true;
    for (size_t i = 1; i <= path.size() && ok; i++) {
      if (i == path.size() || path[i] == '/') {
        std::string cur = path.substr(0, i);
        if (mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) ok = false;
      }
    }
    if (ok) return true;
    if (errno != ENOENT) return false;
  }
  return false;
}

bool MapCompatible(int fd, bpf_map* map, std::string* why) {
  bpf_map_info mi;
  memset(&mi, 0, sizeof(mi));
  __u32 len = sizeof(mi);
  if (bpf_obj_get_info_by_fd(fd, &mi, &len) != 0) {
    *why = std::string("cannot read its info: ") + strerror(errno);
    return false;
  }
  auto mismatch = [&](const char* what, unsigned pinned, unsigned wanted) {
    *why = std::string(what) + " is " + std::to_string(pinned) + " in the pin, " + std::to_string(wanted) + " in the object";
    return false;
  };
  if (mi.type != (unsigned)bpf_map__type(map)) return mismatch("type", mi.type, bpf_map__type(map));
  if (mi.key_size != bpf_map__key_size(map)) return mismatch("key size", mi.key_size, bpf_map__key_size(map));
  if (mi.value_size != bpf_map__value_size(map)) return mismatch("value size", mi.value_size, bpf_map__value_size(map));
  if (mi.max_entries != bpf_map__max_entries(map)) return mismatch("max entries", mi.max_entries, bpf_map__max_entries(map));
  if (mi.map_flags != bpf_map__map_flags(map)) return mismatch("flags", mi.map_flags, bpf_map__map_flags(map));
  return true;
}

int ReusePinnedMap(bpf_map* map, const std::string& pin, bool replace, PinReuse* out) {
  int fd = bpf_obj_get(pin.c_str());
  if (fd < 0) return 0;  // nothing pinned: the map is created and pinned after load
  if (!MapCompatible(fd, map, &out->why)) {
    close(fd);
    if (!replace) return -EEXIST;
    unlink(pin.c_str());
    out->replaced = true;
    return 0;
  }
  int rc = bpf_map__reuse_fd(map, fd);
  close(fd);
  if (rc != 0) return rc;
  out->reused = true;
  return 0;
}

}  // namespace edgelb
