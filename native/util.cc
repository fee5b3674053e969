// Shared helpers of the addon: errors with errno and code, argument helpers, addresses, and the
// per-environment resource table released by an env cleanup hook.
#include "util.h"

#include <arpa/inet.h>
#include <string.h>

#include <map>
#include <mutex>

namespace edgelb {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  return "E" + std::to_string(err);
}

static Napi::Error MakeErrnoError(Napi::Env env, const std::string& op, int err, const std::string& detail) {
  std::string msg = op + ": " + strerror(err);
  if (!detail.empty()) msg += "\n" + detail;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("syscall", Napi::String::New(env, op));
  return e;
}

void ThrowErrno(Napi::Env env, const std::string& op, int err) {
  MakeErrnoError(env, op, err, "").ThrowAsJavaScriptException();
}

void ThrowErrnoDetail(Napi::Env env, const std::string& op, int err, const std::string& detail) {
  MakeErrnoError(env, op, err, detail).ThrowAsJavaScriptException();
}

void ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError e = Napi::TypeError::New(env, msg);
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  e.ThrowAsJavaScriptException();
}

void ThrowRange(Napi::Env env, const std::string& msg) {
  Napi::RangeError e = Napi::RangeError::New(env, msg);
  e.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  e.ThrowAsJavaScriptException();
}

bool OptInt(Napi::Object o, const char* key, int64_t lo, int64_t hi, int64_t* out, bool* present) {
  *present = false;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsNumber()) {
    ThrowType(o.Env(), std::string("option ") + key + " must be a number");
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != (double)(int64_t)d || d < (double)lo || d > (double)hi) {
    ThrowRange(o.Env(), std::string("option ") + key + " out of range");
    return false;
  }
  *out = (int64_t)d;
  *present = true;
  return true;
}

bool OptString(Napi::Object o, const char* key, std::string* out, bool* present) {
  *present = false;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsString()) {
    ThrowType(o.Env(), std::string("option ") + key + " must be a string");
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  *present = true;
  return true;
}

bool OptBool(Napi::Object o, const char* key, bool* out, bool* present) {
  *present = false;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsBoolean()) {
    ThrowType(o.Env(), std::string("option ") + key + " must be a boolean");
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  *present = true;
  return true;
}

bool OptBytes(Napi::Object o, const char* key, std::string* out, bool* present) {
  *present = false;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<uint8_t>>();
    out->assign(reinterpret_cast<const char*>(b.Data()), b.Length());
  } else if (v.IsString()) {
    *out = v.As<Napi::String>().Utf8Value();
  } else {
    ThrowType(o.Env(), std::string("option ") + key + " must be a Buffer or a string");
    return false;
  }
  *present = true;
  return true;
}

bool ParseAddress(const std::string& text, int port, int family, sockaddr_storage* out, socklen_t* len) {
  memset(out, 0, sizeof(*out));
  if (family == 0 || family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    if (inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1) {
      sin->sin_family = AF_INET;
      sin->sin_port = htons((uint16_t)port);
      *len = sizeof(sockaddr_in);
      return true;
    }
  }
  if (family == 0 || family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    if (inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) == 1) {
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons((uint16_t)port);
      *len = sizeof(sockaddr_in6);
      return true;
    }
  }
  return false;
}

std::string FormatAddress(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof(buf));
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof(buf));
  }
  return buf;
}

int AddressPort(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return 0;
}

// ---- resource table ----
//
// One table per Node environment (the main thread and each worker), found through a global map.
// At teardown an async cleanup hook releases every tracked resource and then waits until every
// libuv handle the addon closed has finished closing: their close callbacks live in this shared
// object, which Node may unload right after a worker's environment is gone.

struct ResourceTable {
  uint64_t next = 1;
  std::map<uint64_t, std::function<void()>> items;
  int closing = 0;  // uv handles whose close callback has not run yet
  bool tearing_down = false;
  napi_async_cleanup_hook_handle hook = nullptr;
};

static std::mutex g_tables_mu;
static std::map<napi_env, ResourceTable*> g_tables;

static void MaybeFinish(napi_env env, ResourceTable* t) {
  if (!t->tearing_down || t->closing > 0) return;
  {
    std::lock_guard<std::mutex> lock(g_tables_mu);
    g_tables.erase(env);
  }
  napi_async_cleanup_hook_handle hook = t->hook;
  delete t;
  napi_remove_async_cleanup_hook(hook);
}

struct HookArg {
  napi_env env;
  ResourceTable* table;
};

static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* a = static_cast<HookArg*>(arg);
  napi_env env = a->env;
  ResourceTable* t = a->table;
  delete a;
  t->hook = handle;
  t->tearing_down = true;
  // release in reverse order of creation
  auto items = std::move(t->items);
  t->items.clear();
  for (auto it = items.rbegin(); it != items.rend(); ++it) it->second();
  MaybeFinish(env, t);
}

static ResourceTable* Table(napi_env env) {
  {
    std::lock_guard<std::mutex> lock(g_tables_mu);
    auto it = g_tables.find(env);
    if (it != g_tables.end()) return it->second;
  }
  auto* t = new ResourceTable();
  {
    std::lock_guard<std::mutex> lock(g_tables_mu);
    g_tables[env] = t;
  }
  napi_add_async_cleanup_hook(env, OnEnvCleanup, new HookArg{env, t}, &t->hook);
  return t;
}

uint64_t TrackResource(Napi::Env env, std::function<void()> release) {
  ResourceTable* t = Table(env);
  uint64_t id = t->next++;
  t->items.emplace(id, std::move(release));
  return id;
}

void UntrackResource(Napi::Env env, uint64_t id) {
  if (id == 0) return;
  std::lock_guard<std::mutex> lock(g_tables_mu);
  auto it = g_tables.find(env);
  if (it != g_tables.end()) it->second->items.erase(id);
}

size_t TrackedResources(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_tables_mu);
  auto it = g_tables.find(env);
  return it == g_tables.end() ? 0 : it->second->items.size();
}

struct ClosingHandle {
  napi_env env;
  ResourceTable* table;
};

void CloseUvHandle(napi_env env, uv_handle_t* h) {
  ResourceTable* t = Table(env);
  t->closing++;
  h->data = new ClosingHandle{env, t};
  uv_close(h, [](uv_handle_t* handle) {
    auto* c = static_cast<ClosingHandle*>(handle->data);
    free(handle);
    c->table->closing--;
    MaybeFinish(c->env, c->table);
    delete c;
  });
}

void ReportPendingException(Napi::Env env) {
  if (!env.IsExceptionPending()) return;
  Napi::Error e = env.GetAndClearPendingException();
  napi_fatal_exception(env, e.Value());
}

}  // namespace edgelb
