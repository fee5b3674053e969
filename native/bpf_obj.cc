// BPF objects through libbpf: open+load an ELF object with optional pinned-map reuse (a map pinned
// at DIR/<name> is reused, otherwise it is pinned there after load), program and map fds by name,
// and the fd-level helpers obj get/pin/unpin/close. libbpf's log is captured into load errors.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "bpf_pin.h"
#include "registry.h"
#include "util.h"

namespace edgelb {

// ---- libbpf log capture ----

static thread_local std::string* g_capture = nullptr;

static int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (g_capture != nullptr && level != LIBBPF_DEBUG) {
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, args);
    if (g_capture->size() < 64 * 1024) g_capture->append(buf);
    return 0;
  }
  if (getenv("EDGELB_LIBBPF_DEBUG") != nullptr) return vfprintf(stderr, fmt, args);
  return 0;
}

struct CaptureLog {
  std::string text;
  CaptureLog() { g_capture = &text; }
  ~CaptureLog() { g_capture = nullptr; }
  // the last lines: the verifier's complaint is at the end
  std::string Tail() const {
    const size_t max = 4000;
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
  }
};

static const char* MapTypeName(int type) {
  const char* n = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(type));
  return n != nullptr ? n : "unknown";
}

static const char* ProgTypeName(int type) {
  const char* n = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(type));
  return n != nullptr ? n : "unknown";
}

// ---- BpfObject ----

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BpfObject",
                       {
                           InstanceMethod("programs", &BpfObject::Programs),
                           InstanceMethod("maps", &BpfObject::Maps),
                           InstanceMethod("progFd", &BpfObject::ProgFd),
                           InstanceMethod("mapFd", &BpfObject::MapFd),
                           InstanceMethod("close", &BpfObject::Close),
                           InstanceAccessor("closed", &BpfObject::Closed, nullptr),
                       });
  }

  // new BpfObject(path, { pinDir?, replaceIncompatible?, maxEntries?: { [map]: n } })
  explicit BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_STRING(info, 0, "path", );
    std::string path = info[0].As<Napi::String>().Utf8Value();
    std::string pinDir;
    bool hasPin = false, replace = false, hasReplace = false;
    Napi::Value maxEntries;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      EDGELB_ARG_OBJECT(info, 1, "options", );
      Napi::Object o = info[1].As<Napi::Object>();
      if (!OptString(o, "pinDir", &pinDir, &hasPin)) return;
      if (!OptBool(o, "replaceIncompatible", &replace, &hasReplace)) return;
      maxEntries = o.Get("maxEntries");
    }
    CaptureLog log;
    bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
    if (obj == nullptr) {
      ThrowErrnoDetail(env, "bpf_object__open_file(" + path + ")", errno, log.Tail());
      return;
    }
    obj_ = obj;
    // map sizes chosen at load time (before pins are compared, so a resized map is incompatible)
    if (!maxEntries.IsEmpty() && maxEntries.IsObject()) {
      Napi::Object me = maxEntries.As<Napi::Object>();
      Napi::Array names = me.GetPropertyNames();
      for (uint32_t i = 0; i < names.Length(); i++) {
        std::string name = names.Get(i).As<Napi::String>().Utf8Value();
        int64_t n = 0;
        bool has = false;
        if (!OptInt(me, name.c_str(), 1, 0xffffffff, &n, &has)) {
          Release();
          return;
        }
        bpf_map* m = bpf_object__find_map_by_name(obj, name.c_str());
        if (m == nullptr) {
          Release();
          ThrowErrno(env, "maxEntries: no map named " + name, ENOENT);
          return;
        }
        int rc = bpf_map__set_max_entries(m, (uint32_t)n);
        if (rc != 0) {
          Release();
          ThrowErrno(env, "bpf_map__set_max_entries(" + name + ")", -rc);
          return;
        }
      }
    } else if (!maxEntries.IsEmpty() && !maxEntries.IsUndefined() && !maxEntries.IsNull()) {
      Release();
      ThrowType(env, "option maxEntries must be an object { mapName: entries }");
      return;
    }
    if (hasPin && !pinDir.empty()) {
      if (!MkdirP(pinDir)) {
        int err = errno;
        Release();
        ThrowErrno(env, "mkdir(" + pinDir + ")", err);
        return;
      }
    }
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      MapState st;
      st.name = bpf_map__name(map);
      // .rodata/.bss/.data of the object are never pinned
      bool internal = st.name.find('.') != std::string::npos;
      if (hasPin && !pinDir.empty() && !internal) {
        st.pinPath = pinDir + "/" + st.name;
        PinReuse pr;
        int rc = ReusePinnedMap(map, st.pinPath, replace, &pr);
        if (rc == -EEXIST && !pr.why.empty()) {
          Release();
          ThrowErrnoDetail(env, "pinned map " + st.pinPath + " is incompatible", EEXIST, pr.why);
          return;
        }
        if (rc != 0) {
          Release();
          ThrowErrno(env, "bpf_map__reuse_fd(" + st.pinPath + ")", -rc);
          return;
        }
        st.reused = pr.reused;
        st.replaced = pr.replaced;
      }
      maps_.push_back(st);
    }
    int rc = bpf_object__load(obj);
    if (rc != 0) {
      std::string detail = log.Tail();
      Release();
      ThrowErrnoDetail(env, "bpf_object__load(" + path + ")", -rc, detail);
      return;
    }
    for (auto& st : maps_) {
      if (st.pinPath.empty() || st.reused) continue;
      bpf_map* m = bpf_object__find_map_by_name(obj, st.name.c_str());
      int prc = bpf_map__pin(m, st.pinPath.c_str());
      if (prc != 0) {
        std::string detail = log.Tail();
        Release();
        ThrowErrnoDetail(env, "bpf_map__pin(" + st.pinPath + ")", -prc, detail);
        return;
      }
    }
    cleanup_id_ = TrackResource(env, [this]() { Release(); });
  }

  ~BpfObject() override { Release(); }

 private:
  struct MapState {
    std::string name;
    std::string pinPath;
    bool reused = false;
    bool replaced = false;
  };

  void Release() {
    if (obj_ != nullptr) {
      bpf_object__close(obj_);  // closes fds; pins and XDP attachments stay
      obj_ = nullptr;
    }
    if (cleanup_id_ != 0) {
      UntrackResource(Env(), cleanup_id_);
      cleanup_id_ = 0;
    }
  }

  bool Open(Napi::Env env) {
    if (obj_ == nullptr) {
      ThrowErrno(env, "BpfObject is closed", EBADF);
      return false;
    }
    return true;
  }

  Napi::Value Programs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    bpf_program* p;
    bpf_object__for_each_program(p, obj_) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", Napi::String::New(env, bpf_program__name(p)));
      o.Set("section", Napi::String::New(env, bpf_program__section_name(p)));
      o.Set("type", Napi::String::New(env, ProgTypeName(bpf_program__type(p))));
      o.Set("fd", Napi::Number::New(env, bpf_program__fd(p)));
      out.Set(i++, o);
    }
    return out;
  }

  Napi::Value Maps(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    Napi::Array out = Napi::Array::New(env);
    uint32_t i = 0;
    bpf_map* m;
    bpf_object__for_each_map(m, obj_) {
      Napi::Object o = Napi::Object::New(env);
      std::string name = bpf_map__name(m);
      o.Set("name", Napi::String::New(env, name));
      o.Set("fd", Napi::Number::New(env, bpf_map__fd(m)));
      o.Set("type", Napi::String::New(env, MapTypeName(bpf_map__type(m))));
      o.Set("keySize", Napi::Number::New(env, bpf_map__key_size(m)));
      o.Set("valueSize", Napi::Number::New(env, bpf_map__value_size(m)));
      o.Set("maxEntries", Napi::Number::New(env, bpf_map__max_entries(m)));
      for (const auto& st : maps_) {
        if (st.name != name) continue;
        if (!st.pinPath.empty()) o.Set("pinPath", Napi::String::New(env, st.pinPath));
        o.Set("reused", Napi::Boolean::New(env, st.reused));
        o.Set("replaced", Napi::Boolean::New(env, st.replaced));
      }
      out.Set(i++, o);
    }
    return out;
  }

  Napi::Value ProgFd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_STRING(info, 0, "name", env.Undefined());
    if (!Open(env)) return env.Undefined();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    bpf_program* p = bpf_object__find_program_by_name(obj_, name.c_str());
    if (p == nullptr) {
      ThrowErrno(env, "no program named " + name, ENOENT);
      return env.Undefined();
    }
    return Napi::Number::New(env, bpf_program__fd(p));
  }

  Napi::Value MapFd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_STRING(info, 0, "name", env.Undefined());
    if (!Open(env)) return env.Undefined();
    std::string name = info[0].As<Napi::String>().Utf8Value();
    bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
    if (m == nullptr) {
      ThrowErrno(env, "no map named " + name, ENOENT);
      return env.Undefined();
    }
    return Napi::Number::New(env, bpf_map__fd(m));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), obj_ == nullptr); }

  bpf_object* obj_ = nullptr;
  std::vector<MapState> maps_;
  uint64_t cleanup_id_ = 0;
};

// ---- fd-level object helpers ----

static Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "path", env.Undefined());
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    ThrowErrno(env, "bpf_obj_get(" + path + ")", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  EDGELB_ARG_STRING(info, 1, "path", env.Undefined());
  std::string path = info[1].As<Napi::String>().Utf8Value();
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) MkdirP(path.substr(0, slash));
  if (bpf_obj_pin((int)fd, path.c_str()) != 0) {
    ThrowErrno(env, "bpf_obj_pin(" + path + ")", errno);
    return env.Undefined();
  }
  return env.Undefined();
}

// unpin(path) -> true if removed, false if it did not exist
static Napi::Value Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "path", env.Undefined());
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "unlink(" + path + ")", errno);
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  if (close((int)fd) != 0) ThrowErrno(env, "close", errno);
  return env.Undefined();
}

static void InitBpfObj(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(LibbpfPrint);
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  exports.Set("BpfObject", BpfObject::Define(env));
  exports.Set("objGet", Napi::Function::New(env, ObjGet, "objGet"));
  exports.Set("objPin", Napi::Function::New(env, ObjPin, "objPin"));
  exports.Set("unpin", Napi::Function::New(env, Unpin, "unpin"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

EDGELB_REGISTER(bpf_obj, InitBpfObj);

}  // namespace edgelb
