// Pinned-map reuse, written once for every loader in the addon (BpfObject and xdpLoad): a map
// already pinned at DIR/<name> is reused when its shape matches the object's (type, key and value
// size, max entries, flags), else refused or unpinned so a fresh one is created and pinned.
#pragma once

#include <bpf/libbpf.h>

#include <string>

namespace edgelb {

// mkdir -p with mode 0700; retried because another process may remove an empty parent (the shared
// /sys/fs/bpf/edgelb) between our mkdir of it and of its child. false with errno set on failure.
bool MkdirP(const std::string& path);

// The pinned map behind fd has the shape of the object's map; otherwise *why says what differs
// ("value size is 4 in the pin, 8 in the object").
bool MapCompatible(int fd, bpf_map* map, std::string* why);

struct PinReuse {
  bool reused = false;    // the pinned map was handed to libbpf (bpf_map__reuse_fd)
  bool replaced = false;  // an incompatible pin was unlinked (replaceIncompatible)
  std::string why;        // why the pin was incompatible (replaced, or the refusal)
};

// Before bpf_object__load: reuse the map pinned at `pin` (if any). An incompatible pin is unlinked
// when `replace`, else the call fails with -EEXIST (out->why says why). Returns 0 or -errno.
int ReusePinnedMap(bpf_map* map, const std::string& pin, bool replace, PinReuse* out);

}  // namespace edgelb
