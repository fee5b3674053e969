// BPF map operations on raw bytes by fd (from a BpfObject or a pin): lookup, per-CPU lookup,
// update, delete, next key, dump, and map info. Keys and values are Buffers whose sizes must
// match the map's; struct layout is the caller's business.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

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

// mapInfo(fd) -> { id, name, type, keySize, valueSize, maxEntries, flags, perCpu }
static Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
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

// mapLookup(fd, key) -> Buffer | null  (per-CPU maps: every CPU's value, each padded to 8 bytes)
static Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  if (!CheckKey(env, info[1], mi, "key")) return env.Undefined();
  std::vector<uint8_t> val(LookupSize(mi) == 0 ? 1 : LookupSize(mi));
  if (bpf_map_lookup_elem((int)fd, info[1].As<Napi::Buffer<uint8_t>>().Data(), val.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, "bpf_map_lookup_elem", errno);
    return env.Undefined();
  }
  return Napi::Buffer<uint8_t>::Copy(env, val.data(), LookupSize(mi));
}

// mapLookupPerCpu(fd, key) -> Buffer[] (one value per possible CPU) | null
static Napi::Value MapLookupPerCpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  if (!IsPerCpu(mi.type)) {
    ThrowErrno(env, "mapLookupPerCpu: not a per-CPU map", EINVAL);
    return env.Undefined();
  }
  if (!CheckKey(env, info[1], mi, "key")) return env.Undefined();
  std::vector<uint8_t> val(LookupSize(mi));
  if (bpf_map_lookup_elem((int)fd, info[1].As<Napi::Buffer<uint8_t>>().Data(), val.data()) != 0) {
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

// mapUpdate(fd, key, value, flags = BPF_ANY). Per-CPU maps take one value (copied to every CPU)
// or every CPU's value concatenated, each padded to 8 bytes.
static Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  if (!CheckKey(env, info[1], mi, "key")) return env.Undefined();
  EDGELB_ARG_BUFFER(info, 2, "value", env.Undefined());
  int64_t flags = BPF_ANY;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    EDGELB_ARG_INT(info, 3, "flags", 0, 0xffffffff, f, env.Undefined());
    flags = f;
  }
  auto value = info[2].As<Napi::Buffer<uint8_t>>();
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
  if (bpf_map_update_elem((int)fd, info[1].As<Napi::Buffer<uint8_t>>().Data(), data, (uint64_t)flags) != 0) {
    ThrowErrno(env, "bpf_map_update_elem", errno);
  }
  return env.Undefined();
}

// mapDelete(fd, key) -> true if deleted, false if absent
static Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  if (!CheckKey(env, info[1], mi, "key")) return env.Undefined();
  if (bpf_map_delete_elem((int)fd, info[1].As<Napi::Buffer<uint8_t>>().Data()) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "bpf_map_delete_elem", errno);
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// mapGetNextKey(fd, key | null) -> Buffer | null (null after the last key)
static Napi::Value MapGetNextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  const void* cur = nullptr;
  if (info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined()) {
    if (!CheckKey(env, info[1], mi, "key")) return env.Undefined();
    cur = info[1].As<Napi::Buffer<uint8_t>>().Data();
  }
  std::vector<uint8_t> next(mi.key_size == 0 ? 1 : mi.key_size);
  if (bpf_map_get_next_key((int)fd, cur, next.data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, "bpf_map_get_next_key", errno);
    return env.Undefined();
  }
  return Napi::Buffer<uint8_t>::Copy(env, next.data(), mi.key_size);
}

// mapDump(fd, max = 1e6) -> Array<{ key, value }> (values as mapLookup returns them). Entries
// deleted while iterating are skipped; the walk restarts from the first key if the current one
// vanished (hash maps), so a key may rarely repeat.
static Napi::Value MapDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  int64_t max = 1000000;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    EDGELB_ARG_INT(info, 1, "max", 0, 100000000, m, env.Undefined());
    max = m;
  }
  bpf_map_info mi;
  if (!MapInfoOf(env, (int)fd, &mi)) return env.Undefined();
  size_t vsize = LookupSize(mi);
  std::vector<uint8_t> key(mi.key_size == 0 ? 1 : mi.key_size), next(key.size()), val(vsize == 0 ? 1 : vsize);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  bool first = true;
  while ((int64_t)n < max) {
    if (bpf_map_get_next_key((int)fd, first ? nullptr : key.data(), next.data()) != 0) {
      if (errno == ENOENT) break;
      ThrowErrno(env, "bpf_map_get_next_key", errno);
      return env.Undefined();
    }
    first = false;
    key = next;
    if (bpf_map_lookup_elem((int)fd, key.data(), val.data()) != 0) {
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

static Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), libbpf_num_possible_cpus());
}

static void InitBpfMap(Napi::Env env, Napi::Object exports) {
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo, "mapInfo"));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup, "mapLookup"));
  exports.Set("mapLookupPerCpu", Napi::Function::New(env, MapLookupPerCpu, "mapLookupPerCpu"));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate, "mapUpdate"));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete, "mapDelete"));
  exports.Set("mapGetNextKey", Napi::Function::New(env, MapGetNextKey, "mapGetNextKey"));
  exports.Set("mapDump", Napi::Function::New(env, MapDump, "mapDump"));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus, "possibleCpus"));
}

EDGELB_REGISTER(bpf_map, InitBpfMap);

}  // namespace edgelb
