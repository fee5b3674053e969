// BPF map operations on raw bytes: by fd (from a BpfObject or a pin), and through a BpfMap handle
// that owns a duplicate of the fd and caches the map's shape (one syscall per operation instead
// of two). Keys and values are Buffers whose sizes must match the map's; struct layout is the
// caller's business.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <vector>

#include "registry.h"
#include "util.h"

namespace edgelb {

static bool MapInfoOf(Napi::Env env, int fd, bpf_map_info* mi) {
  memset(mi, 0, sizeof(*mi));
  __u32 len = sizeof(*mi);
  if (bpf_obj_get_info_by_fd(fd, mi, &len) != 0) {
    ThrowErrno(env, "bpf_obj_get_info_by_fd(map)", errno);
    return false;
  }
  return true;
}

static bool IsPerCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// Size of the value buffer the kernel writes on lookup: value_size, or per CPU rounded to 8.
static size_t LookupSize(const bpf_map_info& mi) {
  if (!IsPerCpu(mi.type)) return mi.value_size;
  return (size_t)((mi.value_size + 7) & ~7u) * (size_t)libbpf_num_possible_cpus();
}

static bool CheckKey(Napi::Env env, Napi::Value v, const bpf_map_info& mi, const char* what) {
  if (!v.IsBuffer()) {
    ThrowType(env, std::string(what) + " must be a Buffer");
    return false;
  }
  size_t n = v.As<Napi::Buffer<uint8_t>>().Length();
  if (n != mi.key_size) {
    ThrowRange(env, std::string(what) + " is " + std::to_string(n) + " bytes, the map's key is " + std::to_string(mi.key_size));
    return false;
  }
  return true;
}

static Napi::Value Arg(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() ? info[i] : info.Env().Undefined();
}

// ---- operations, shared by the fd functions and BpfMap (a = index of the first argument after fd)

// -> { id, name, type, keySize, valueSize, maxEntries, flags, perCpu }
static Napi::Value InfoObject(Napi::Env env, const bpf_map_info& mi) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::Number::New(env, mi.id));
  o.Set("name", Napi::String::New(env, mi.name));
  const char* tn = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(mi.type));
  o.Set("type", Napi::String::New(env, tn != nullptr ? tn : "unknown"));
  o.Set("keySize", Napi::Number::New(env, mi.key_size));
  o.Set("valueSize", Napi::Number::New(env, mi.value_size));
  o.Set("maxEntries", Napi::Number::New(env, mi.max_entries));
  o.Set("flags", Napi::Number::New(env, mi.map_flags));
  o.Set("perCpu", Napi::Boolean::New(env, IsPerCpu(mi.type)));
  return o;
}

// (key) -> Buffer | null  (per-CPU maps: every CPU's value, each padded to 8 bytes)
static Napi::Value DoLookup(const Napi::CallbackInfo& info, size_t a, int fd, const bpf_map_info& mi) {
  Napi::Env env = info.Env();
  if (!CheckKey(env, Arg(info, a), mi, "key")) return env.Undefined();
  size_t size = LookupSize(mi);
  std::vector<uint8_t> val(size == 0 ? 1 : size);
  if (bpf_map_lookup_elem(fd, info[a].As<Napi::Buffer<uint8_t>>().Data(), val.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, "bpf_map_lookup_elem", errno);
    return env.Undefined();
  }
  return Napi::Buffer<uint8_t>::Copy(env, val.data(), size);
}

// (key) -> Buffer[] (one value per possible CPU) | null
static Napi::Value DoLookupPerCpu(const Napi::CallbackInfo& info, size_t a, int fd, const bpf_map_info& mi) {
  Napi::Env env = info.Env();
  if (!IsPerCpu(mi.type)) {
    ThrowErrno(env, "mapLookupPerCpu: not a per-CPU map", EINVAL);
    return env.Undefined();
  }
  if (!CheckKey(env, Arg(info, a), mi, "key")) return env.Undefined();
  std::vector<uint8_t> val(LookupSize(mi));
  if (bpf_map_lookup_elem(fd, info[a].As<Napi::Buffer<uint8_t>>().Data(), val.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, "bpf_map_lookup_elem", errno);
    return env.Undefined();
  }
  size_t stride = (mi.value_size + 7) & ~7u;
  int ncpu = libbpf_num_possible_cpus();
  Napi::Array out = Napi::Array::New(env, ncpu);
  for (int c = 0; c < ncpu; c++) {
    out.Set((uint32_t)c, Napi::Buffer<uint8_t>::Copy(env, val.data() + stride * c, mi.value_size));
  }
  return out;
}

// (key, value, flags = BPF_ANY). Per-CPU maps take one value (copied to every CPU) or every
// CPU's value concatenated, each padded to 8 bytes.
static Napi::Value DoUpdate(const Napi::CallbackInfo& info, size_t a, int fd, const bpf_map_info& mi) {
  Napi::Env env = info.Env();
  if (!CheckKey(env, Arg(info, a), mi, "key")) return env.Undefined();
  if (!Arg(info, a + 1).IsBuffer()) {
    ThrowType(env, "value must be a Buffer");
    return env.Undefined();
  }
  int64_t flags = BPF_ANY;
  if (info.Length() > a + 2 && !info[a + 2].IsUndefined()) {
    EDGELB_ARG_INT(info, a + 2, "flags", 0, 0xffffffff, f, env.Undefined());
    flags = f;
  }
  auto value = info[a + 1].As<Napi::Buffer<uint8_t>>();
  std::vector<uint8_t> buf;
  const uint8_t* data = value.Data();
  if (IsPerCpu(mi.type)) {
    size_t stride = (mi.value_size + 7) & ~7u;
    size_t total = LookupSize(mi);
    if (value.Length() == mi.value_size) {
      buf.assign(total, 0);
      for (size_t off = 0; off < total; off += stride) memcpy(buf.data() + off, value.Data(), mi.value_size);
      data = buf.data();
    } else if (value.Length() != total) {
      ThrowRange(env, "value must be " + std::to_string(mi.value_size) + " or " + std::to_string(total) + " bytes");
      return env.Undefined();
    }
  } else if (value.Length() != mi.value_size) {
    ThrowRange(env, "value is " + std::to_string(value.Length()) + " bytes, the map's value is " + std::to_string(mi.value_size));
    return env.Undefined();
  }
  if (bpf_map_update_elem(fd, info[a].As<Napi::Buffer<uint8_t>>().Data(), data, (uint64_t)flags) != 0) {
    ThrowErrno(env, "bpf_map_update_elem", errno);
  }
  return env.Undefined();
}

// (key) -> true if deleted, false if absent
static Napi::Value DoDelete(const Napi::CallbackInfo& info, size_t a, int fd, const bpf_map_info& mi) {
  Napi::Env env = info.Env();
  if (!CheckKey(env, Arg(info, a), mi, "key")) return env.Undefined();
  if (bpf_map_delete_elem(fd, info[a].As<Napi::Buffer<uint8_t>>().Data()) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "bpf_map_delete_elem", errno);
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// (key | null) -> Buffer | null (null after the last key)
static Napi::Value DoGetNextKey(const Napi::CallbackInfo& info, size_t a, int fd, const bpf_map_info& mi) {
  Napi::Env env = info.Env();
  const void* cur = nullptr;
  Napi::Value k = Arg(info, a);
  if (!k.IsNull() && !k.IsUndefined()) {
    if (!CheckKey(env, k, mi, "key")) return env.Undefined();
    cur = k.As<Napi::Buffer<uint8_t>>().Data();
  }
  std::vector<uint8_t> next(mi.key_size == 0 ? 1 : mi.key_size);
  if (bpf_map_get_next_key(fd, cur, next.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, "bpf_map_get_next_key", errno);
    return env.Undefined();
  }
  return Napi::Buffer<uint8_t>::Copy(env, next.data(), mi.key_size);
}

// (max = 1e6) -> Array<{ key, value }> (values as lookup returns them). Entries deleted while
// iterating are skipped; a hash walk whose current key vanished restarts from the first key, so a
// key may rarely repeat.
static Napi::Value DoDump(const Napi::CallbackInfo& info, size_t a, int fd, const bpf_map_info& mi) {
  Napi::Env env = info.Env();
  int64_t max = 1000000;
  if (info.Length() > a && !info[a].IsUndefined()) {
    EDGELB_ARG_INT(info, a, "max", 0, 100000000, m, env.Undefined());
    max = m;
  }
  size_t vsize = LookupSize(mi);
  std::vector<uint8_t> key(mi.key_size == 0 ? 1 : mi.key_size), next(key.size()), val(vsize == 0 ? 1 : vsize);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  bool first = true;
  while ((int64_t)n < max) {
    if (bpf_map_get_next_key(fd, first ? nullptr : key.data(), next.data()) != 0) {
      if (errno == ENOENT) break;
      ThrowErrno(env, "bpf_map_get_next_key", errno);
      return env.Undefined();
    }
    first = false;
    key = next;
    if (bpf_map_lookup_elem(fd, key.data(), val.data()) != 0) {
      if (errno == ENOENT) continue;
      ThrowErrno(env, "bpf_map_lookup_elem", errno);
      return env.Undefined();
    }
    Napi::Object e = Napi::Object::New(env);
    e.Set("key", Napi::Buffer<uint8_t>::Copy(env, key.data(), mi.key_size));
    e.Set("value", Napi::Buffer<uint8_t>::Copy(env, val.data(), vsize));
    out.Set(n++, e);
  }
  return out;
}

// ---- fd functions: (fd, ...) ----

using MapOp = Napi::Value (*)(const Napi::CallbackInfo&, size_t, int, const bpf_map_info&);

template <MapOp op>
static Napi::Value ByFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  return op(info, 1, (int)fd, mi);
}

static Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  return InfoObject(env, mi);
}

static Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), libbpf_num_possible_cpus());
}

// ---- BpfMap: new BpfMap(fd | pinPath) owns its own fd and caches the map's shape ----

class BpfMap : public Napi::ObjectWrap<BpfMap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfMap",
                       {
                           InstanceMethod("lookup", &BpfMap::Op<DoLookup>),
                           InstanceMethod("lookupPerCpu", &BpfMap::Op<DoLookupPerCpu>),
                           InstanceMethod("update", &BpfMap::Op<DoUpdate>),
                           InstanceMethod("delete", &BpfMap::Op<DoDelete>),
                           InstanceMethod("nextKey", &BpfMap::Op<DoGetNextKey>),
                           InstanceMethod("dump", &BpfMap::Op<DoDump>),
                           InstanceMethod("close", &BpfMap::Close),
                           InstanceAccessor("fd", &BpfMap::Fd, nullptr),
                           InstanceAccessor("info", &BpfMap::Info, nullptr),
                       });
  }

  explicit BpfMap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfMap>(info) {
    Napi::Env env = info.Env();
    int fd = -1;
    if (info.Length() > 0 && info[0].IsString()) {
      std::string path = info[0].As<Napi::String>().Utf8Value();
      fd = bpf_obj_get(path.c_str());
      if (fd < 0) {
        ThrowErrno(env, "bpf_obj_get(" + path + ")", errno);
        return;
      }
    } else {
      EDGELB_ARG_INT(info, 0, "fd or pin path", 0, 0x7fffffff, src, );
      fd = fcntl((int)src, F_DUPFD_CLOEXEC, 3);
      if (fd < 0) {
        ThrowErrno(env, "dup(map fd)", errno);
        return;
      }
    }
    if (!MapInfoOf(env, fd, &mi_)) {
      close(fd);
      return;
    }
    fd_ = fd;
    cleanup_id_ = TrackResource(env, [this]() { Release(); });
  }

  ~BpfMap() override { Release(); }

 private:
  void Release() {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    if (cleanup_id_ != 0) {
      UntrackResource(Env(), cleanup_id_);
      cleanup_id_ = 0;
    }
  }

  template <MapOp op>
  Napi::Value Op(const Napi::CallbackInfo& info) {
    if (fd_ < 0) {
      ThrowErrno(info.Env(), "BpfMap is closed", EBADF);
      return info.Env().Undefined();
    }
    return op(info, 0, fd_, mi_);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }
  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value Info(const Napi::CallbackInfo& info) { return InfoObject(info.Env(), mi_); }

  int fd_ = -1;
  bpf_map_info mi_;
  uint64_t cleanup_id_ = 0;
};

static void InitBpfMap(Napi::Env env, Napi::Object exports) {
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo, "mapInfo"));
  exports.Set("mapLookup", Napi::Function::New(env, ByFd<DoLookup>, "mapLookup"));
  exports.Set("mapLookupPerCpu", Napi::Function::New(env, ByFd<DoLookupPerCpu>, "mapLookupPerCpu"));
  exports.Set("mapUpdate", Napi::Function::New(env, ByFd<DoUpdate>, "mapUpdate"));
  exports.Set("mapDelete", Napi::Function::New(env, ByFd<DoDelete>, "mapDelete"));
  exports.Set("mapGetNextKey", Napi::Function::New(env, ByFd<DoGetNextKey>, "mapGetNextKey"));
  exports.Set("mapDump", Napi::Function::New(env, ByFd<DoDump>, "mapDump"));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus, "possibleCpus"));
  exports.Set("BpfMap", BpfMap::Define(env));
}

EDGELB_REGISTER(bpf_map, InitBpfMap);

}  // namespace edgelb
