// XDP data path: load the edgelb BPF object with map sizes from the configuration
// (bpf_map__set_max_entries before load) and pinned-map reuse under the node's pin root, returning
// duplicated fds (the object itself is closed: pins and the XDP attachment keep things alive).
// Also xdpSetNetns, which moves the calling (main) thread into a network namespace so a test can
// run BPF_PROG_TEST_RUN against a namespace's routes and neighbours.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "bpf_pin.h"
#include "registry.h"
#include "util.h"

namespace edgelb {

namespace {

struct MapResult {
  std::string name;
  int fd = -1;
  bool reused = false;
  bool pinned = true;    // the object asked for it (LIBBPF_PIN_BY_NAME); others live with the program
  std::string replaced;  // why an incompatible pin was replaced
};

// xdpLoad(path, { pinDir?, maxEntries?: { [map]: n }, program? }) ->
//   { progFd, maps: { [name]: { fd, reused, replaced? } } }
Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "path", env.Undefined());
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string pinDir, progName = "edgelb_xdp";
  std::map<std::string, uint32_t> sizes;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    EDGELB_ARG_OBJECT(info, 1, "options", env.Undefined());
    Napi::Object o = info[1].As<Napi::Object>();
    bool has = false;
    if (!OptString(o, "pinDir", &pinDir, &has)) return env.Undefined();
    if (!OptString(o, "program", &progName, &has)) return env.Undefined();
    Napi::Value me = o.Get("maxEntries");
    if (me.IsObject()) {
      Napi::Object m = me.As<Napi::Object>();
      Napi::Array names = m.GetPropertyNames();
      for (uint32_t i = 0; i < names.Length(); i++) {
        std::string n = names.Get(i).As<Napi::String>().Utf8Value();
        int64_t v = 0;
        bool p = false;
        if (!OptInt(m, n.c_str(), 1, 0x7fffffff, &v, &p)) return env.Undefined();
        sizes[n] = (uint32_t)v;
      }
    }
  }
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (obj == nullptr) {
    ThrowErrno(env, "bpf_object__open_file(" + path + ")", errno);
    return env.Undefined();
  }
  auto fail = [&](const std::string& op, int err) {
    bpf_object__close(obj);
    ThrowErrno(env, op, err);
    return env.Undefined();
  };
  if (!pinDir.empty() && !MkdirP(pinDir)) return fail("mkdir(" + pinDir + ")", errno);
  std::vector<MapResult> results;
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    MapResult r;
    r.name = bpf_map__name(map);
    if (r.name.find('.') != std::string::npos) continue;  // .rodata/.bss: never pinned
    // maps with LIBBPF_PIN_BY_NAME are pinned here, under pinDir; a map without it (the flow
    // cache, edgelb_fc4/6) is the program's own and starts empty with every load
    r.pinned = bpf_map__pin_path(map) != nullptr;
    bpf_map__set_pin_path(map, nullptr);
    auto it = sizes.find(r.name);
    if (it != sizes.end()) {
      int rc = bpf_map__set_max_entries(map, it->second);
      if (rc != 0) return fail("bpf_map__set_max_entries(" + r.name + ")", -rc);
    }
    if (!pinDir.empty() && r.pinned) {
      std::string pin = pinDir + "/" + r.name;
      PinReuse pr;
      int rc = ReusePinnedMap(map, pin, true, &pr);
      if (rc != 0) return fail("bpf_map__reuse_fd(" + pin + ")", -rc);
      r.reused = pr.reused;
      if (pr.replaced) r.replaced = pr.why;
    }
    results.push_back(r);
  }
  int rc = bpf_object__load(obj);
  if (rc != 0) return fail("bpf_object__load(" + path + ")", -rc);
  Napi::Object maps = Napi::Object::New(env);
  std::vector<int> dups;
  auto undo = [&]() {
    for (int d : dups) close(d);
  };
  for (auto& r : results) {
    bpf_map* m = bpf_object__find_map_by_name(obj, r.name.c_str());
    if (!pinDir.empty() && r.pinned && !r.reused) {
      std::string pin = pinDir + "/" + r.name;
      int prc = bpf_obj_pin(bpf_map__fd(m), pin.c_str());
      if (prc != 0) {
        int err = errno;
        undo();
        return fail("bpf_obj_pin(" + pin + ")", err);
      }
    }
    int fd = fcntl(bpf_map__fd(m), F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
      int err = errno;
      undo();
      return fail("dup", err);
    }
    dups.push_back(fd);
    Napi::Object mo = Napi::Object::New(env);
    mo.Set("fd", fd);
    mo.Set("reused", r.reused);
    mo.Set("pinned", r.pinned);
    if (!r.replaced.empty()) mo.Set("replaced", r.replaced);
    mo.Set("maxEntries", bpf_map__max_entries(m));
    maps.Set(r.name, mo);
  }
  bpf_program* prog = bpf_object__find_program_by_name(obj, progName.c_str());
  if (prog == nullptr) {
    undo();
    return fail("no program named " + progName, ENOENT);
  }
  int pfd = fcntl(bpf_program__fd(prog), F_DUPFD_CLOEXEC, 3);
  if (pfd < 0) {
    int err = errno;
    undo();
    return fail("dup", err);
  }
  bpf_object__close(obj);
  Napi::Object out = Napi::Object::New(env);
  out.Set("progFd", pfd);
  out.Set("maps", maps);
  return out;
}

int g_origNetns = -1;

// xdpSetNetns(path | null): move the calling thread into the namespace at path (e.g.
// /run/netns/NAME), or back to the one it started in. Only the calling thread moves, so use it
// around synchronous calls (tests).
Napi::Value SetNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_origNetns < 0) {
    g_origNetns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (g_origNetns < 0) {
      ThrowErrno(env, "open(/proc/thread-self/ns/net)", errno);
      return env.Undefined();
    }
  }
  int fd = g_origNetns;
  bool opened = false;
  if (info.Length() > 0 && info[0].IsString()) {
    std::string path = info[0].As<Napi::String>().Utf8Value();
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ThrowErrno(env, "open(" + path + ")", errno);
      return env.Undefined();
    }
    opened = true;
  }
  int rc = setns(fd, CLONE_NEWNET);
  int err = errno;
  if (opened) close(fd);
  if (rc != 0) ThrowErrno(env, "setns", err);
  return env.Undefined();
}

// xdpArrayWrite(fd, start, values: Buffer of u32) -> writes values[i] at key start + i of an
// ARRAY map whose values are u32 (a Maglev table: 65537 slots in one batch call).
Napi::Value ArrayWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  EDGELB_ARG_INT(info, 1, "start", 0, 0xffffffff, start, env.Undefined());
  EDGELB_ARG_BUFFER(info, 2, "values", env.Undefined());
  auto vals = info[2].As<Napi::Buffer<uint8_t>>();
  if (vals.Length() % 4 != 0) {
    ThrowRange(env, "values must be a whole number of u32");
    return env.Undefined();
  }
  uint32_t n = (uint32_t)(vals.Length() / 4);
  if (n == 0) return env.Undefined();
  std::vector<uint32_t> keys(n), values(n);
  memcpy(values.data(), vals.Data(), vals.Length());
  for (uint32_t i = 0; i < n; i++) keys[i] = (uint32_t)start + i;
  uint32_t count = n;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_update_batch((int)fd, keys.data(), values.data(), &count, &opts) == 0) return env.Undefined();
  // kernels without batch ops: one by one
  for (uint32_t i = 0; i < n; i++) {
    if (bpf_map_update_elem((int)fd, &keys[i], &values[i], BPF_ANY) != 0) {
      ThrowErrno(env, "bpf_map_update_elem", errno);
      return env.Undefined();
    }
  }
  return env.Undefined();
}

// xdpCountEntries(fd, max = 1<<24) -> number of keys in a hash map (walks get_next_key)
Napi::Value CountEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  memset(&mi, 0, sizeof(mi));
  __u32 len = sizeof(mi);
  if (bpf_obj_get_info_by_fd((int)fd, &mi, &len) != 0) {
    ThrowErrno(env, "bpf_obj_get_info_by_fd", errno);
    return env.Undefined();
  }
  std::vector<uint8_t> a(mi.key_size), b(mi.key_size);
  uint64_t n = 0;
  void* prev = nullptr;
  while (n < (1u << 24) && bpf_map_get_next_key((int)fd, prev, b.data()) == 0) {
    n++;
    a.swap(b);
    prev = a.data();
  }
  return Napi::Number::New(env, (double)n);
}

}  // namespace

static void InitDataplaneLoad(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpLoad", Napi::Function::New(env, Load, "xdpLoad"));
  exports.Set("xdpArrayWrite", Napi::Function::New(env, ArrayWrite, "xdpArrayWrite"));
  exports.Set("xdpCountEntries", Napi::Function::New(env, CountEntries, "xdpCountEntries"));
  exports.Set("xdpSetNetns", Napi::Function::New(env, SetNetns, "xdpSetNetns"));
}

EDGELB_REGISTER(dataplane_load, InitDataplaneLoad);

}  // namespace edgelb
