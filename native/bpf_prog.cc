// BPF programs: XDP attach/detach/query through netlink (survives the process: the next daemon
// takes over with XDP_FLAGS_REPLACE), XDP links, program/map fds by kernel id, program info, and
// BPF_PROG_TEST_RUN (sync, and async on the libuv thread pool).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <string.h>

#include <vector>

#include "registry.h"
#include "util.h"

namespace edgelb {

// "native" | "generic" | "offload" | undefined (kernel's choice) -> XDP_FLAGS_*
static bool ModeFlags(Napi::Env env, Napi::Object o, uint32_t* flags) {
  std::string mode;
  bool has = false;
  if (!OptString(o, "mode", &mode, &has)) return false;
  if (!has || mode == "auto") return true;
  if (mode == "native") *flags |= XDP_FLAGS_DRV_MODE;
  else if (mode == "generic") *flags |= XDP_FLAGS_SKB_MODE;
  else if (mode == "offload") *flags |= XDP_FLAGS_HW_MODE;
  else {
    ThrowType(env, "mode must be native, generic, offload or auto");
    return false;
  }
  return true;
}

static Napi::Object OptionsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsObject()) return info[i].As<Napi::Object>();
  return Napi::Object::New(info.Env());
}

// xdpAttach(ifindex, progFd, { mode?, replaceFd?, noReplace? })
//   replaceFd: atomically replace exactly this attached program (XDP_FLAGS_REPLACE);
//   noReplace: fail with EBUSY if any program is attached (XDP_FLAGS_UPDATE_IF_NOEXIST).
static Napi::Value XdpAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  EDGELB_ARG_INT(info, 1, "progFd", 0, 0x7fffffff, progFd, env.Undefined());
  Napi::Object o = OptionsArg(info, 2);
  uint32_t flags = 0;
  if (!ModeFlags(env, o, &flags)) return env.Undefined();
  int64_t replaceFd = -1;
  bool hasReplace = false, noReplace = false, hasNo = false;
  if (!OptInt(o, "replaceFd", 0, 0x7fffffff, &replaceFd, &hasReplace)) return env.Undefined();
  if (!OptBool(o, "noReplace", &noReplace, &hasNo)) return env.Undefined();
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  if (hasReplace) {
    flags |= XDP_FLAGS_REPLACE;
    opts.old_prog_fd = (int)replaceFd;
  }
  if (noReplace) flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  int rc = bpf_xdp_attach((int)ifindex, (int)progFd, flags, &opts);
  if (rc != 0) ThrowErrno(env, "bpf_xdp_attach", -rc);
  return env.Undefined();
}

// xdpDetach(ifindex, { mode?, expectedFd? }): expectedFd detaches only if that program is attached
static Napi::Value XdpDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  Napi::Object o = OptionsArg(info, 1);
  uint32_t flags = 0;
  if (!ModeFlags(env, o, &flags)) return env.Undefined();
  int64_t expected = -1;
  bool hasExpected = false;
  if (!OptInt(o, "expectedFd", 0, 0x7fffffff, &expected, &hasExpected)) return env.Undefined();
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  if (hasExpected) {
    flags |= XDP_FLAGS_REPLACE;
    opts.old_prog_fd = (int)expected;
  }
  int rc = bpf_xdp_detach((int)ifindex, flags, &opts);
  if (rc != 0) ThrowErrno(env, "bpf_xdp_detach", -rc);
  return env.Undefined();
}

// xdpQuery(ifindex) -> { mode: none|native|generic|offload|multi, progId, nativeProgId,
//                        genericProgId, offloadProgId }
static Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  int rc = bpf_xdp_query((int)ifindex, 0, &opts);
  if (rc != 0) {
    ThrowErrno(env, "bpf_xdp_query", -rc);
    return env.Undefined();
  }
  const char* mode = "none";
  switch (opts.attach_mode) {
    case XDP_ATTACHED_DRV: mode = "native"; break;
    case XDP_ATTACHED_SKB: mode = "generic"; break;
    case XDP_ATTACHED_HW: mode = "offload"; break;
    case XDP_ATTACHED_MULTI: mode = "multi"; break;
    default: break;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("mode", Napi::String::New(env, mode));
  uint32_t progId = opts.prog_id;
  if (progId == 0) progId = opts.drv_prog_id ? opts.drv_prog_id : opts.skb_prog_id ? opts.skb_prog_id : opts.hw_prog_id;
  out.Set("progId", Napi::Number::New(env, progId));
  out.Set("nativeProgId", Napi::Number::New(env, opts.drv_prog_id));
  out.Set("genericProgId", Napi::Number::New(env, opts.skb_prog_id));
  out.Set("offloadProgId", Napi::Number::New(env, opts.hw_prog_id));
  return out;
}

// xdpLinkAttach(progFd, ifindex, { mode? }) -> link fd (the attachment lives while the link fd
// or a pin of it does: pin it with objPin to survive the process)
static Napi::Value XdpLinkAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "progFd", 0, 0x7fffffff, progFd, env.Undefined());
  EDGELB_ARG_INT(info, 1, "ifindex", 1, 0x7fffffff, ifindex, env.Undefined());
  Napi::Object o = OptionsArg(info, 2);
  uint32_t flags = 0;
  if (!ModeFlags(env, o, &flags)) return env.Undefined();
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
  int fd = bpf_link_create((int)progFd, (int)ifindex, BPF_XDP, &opts);
  if (fd < 0) {
    ThrowErrno(env, "bpf_link_create(BPF_XDP)", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// linkUpdate(linkFd, newProgFd, { oldProgFd? })
static Napi::Value LinkUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "linkFd", 0, 0x7fffffff, linkFd, env.Undefined());
  EDGELB_ARG_INT(info, 1, "progFd", 0, 0x7fffffff, progFd, env.Undefined());
  Napi::Object o = OptionsArg(info, 2);
  int64_t old = -1;
  bool hasOld = false;
  if (!OptInt(o, "oldProgFd", 0, 0x7fffffff, &old, &hasOld)) return env.Undefined();
  LIBBPF_OPTS(bpf_link_update_opts, opts);
  if (hasOld) {
    opts.flags = BPF_F_REPLACE;
    opts.old_prog_fd = (int)old;
  }
  if (bpf_link_update((int)linkFd, (int)progFd, &opts) != 0) ThrowErrno(env, "bpf_link_update", errno);
  return env.Undefined();
}

static Napi::Value LinkDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "linkFd", 0, 0x7fffffff, linkFd, env.Undefined());
  if (bpf_link_detach((int)linkFd) != 0) ThrowErrno(env, "bpf_link_detach", errno);
  return env.Undefined();
}

static Napi::Value ProgFdById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "id", 1, 0xffffffff, id, env.Undefined());
  int fd = bpf_prog_get_fd_by_id((uint32_t)id);
  if (fd < 0) {
    ThrowErrno(env, "bpf_prog_get_fd_by_id", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value MapFdById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "id", 1, 0xffffffff, id, env.Undefined());
  int fd = bpf_map_get_fd_by_id((uint32_t)id);
  if (fd < 0) {
    ThrowErrno(env, "bpf_map_get_fd_by_id", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// progInfo(fd) -> { id, name, type, tag (hex), mapIds }
static Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "fd", 0, 0x7fffffff, fd, env.Undefined());
  uint32_t ids[64];
  bpf_prog_info pi;
  memset(&pi, 0, sizeof(pi));
  pi.nr_map_ids = 64;
  pi.map_ids = (uint64_t)(uintptr_t)ids;
  __u32 len = sizeof(pi);
  if (bpf_obj_get_info_by_fd((int)fd, &pi, &len) != 0) {
    ThrowErrno(env, "bpf_obj_get_info_by_fd(prog)", errno);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", Napi::Number::New(env, pi.id));
  o.Set("name", Napi::String::New(env, pi.name));
  const char* tn = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(pi.type));
  o.Set("type", Napi::String::New(env, tn != nullptr ? tn : "unknown"));
  char tag[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
  o.Set("tag", Napi::String::New(env, tag));
  Napi::Array maps = Napi::Array::New(env);
  uint32_t n = pi.nr_map_ids < 64 ? pi.nr_map_ids : 64;
  for (uint32_t i = 0; i < n; i++) maps.Set(i, Napi::Number::New(env, ids[i]));
  o.Set("mapIds", maps);
  return o;
}

// ---- BPF_PROG_TEST_RUN ----

struct TestRun {
  int progFd = -1;
  std::vector<uint8_t> in, out, ctxIn, ctxOut;
  int repeat = 1;
  uint32_t retval = 0, duration = 0, outLen = 0, ctxOutLen = 0;
  int err = 0;

  void Run() {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = in.data();
    opts.data_size_in = (uint32_t)in.size();
    opts.data_out = out.data();
    opts.data_size_out = (uint32_t)out.size();
    if (!ctxIn.empty()) {
      opts.ctx_in = ctxIn.data();
      opts.ctx_size_in = (uint32_t)ctxIn.size();
      opts.ctx_out = ctxOut.data();
      opts.ctx_size_out = (uint32_t)ctxOut.size();
    }
    opts.repeat = repeat;
    if (bpf_prog_test_run_opts(progFd, &opts) != 0) {
      err = errno;
      return;
    }
    retval = opts.retval;
    duration = opts.duration;
    outLen = opts.data_size_out;
    ctxOutLen = opts.ctx_size_out;
  }

  Napi::Object Result(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("retval", Napi::Number::New(env, retval));
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, out.data(), outLen < out.size() ? outLen : out.size()));
    o.Set("durationNs", Napi::Number::New(env, duration));
    if (!ctxIn.empty()) o.Set("ctx", Napi::Buffer<uint8_t>::Copy(env, ctxOut.data(), ctxOutLen < ctxOut.size() ? ctxOutLen : ctxOut.size()));
    return o;
  }
};

// args: (progFd, packet, repeat = 1, { ctx?: Buffer (struct xdp_md), dataOutSize? })
static bool ParseTestRun(const Napi::CallbackInfo& info, TestRun* t) {
  EDGELB_ARG_INT(info, 0, "progFd", 0, 0x7fffffff, progFd, false);
  EDGELB_ARG_BUFFER(info, 1, "packet", false);
  t->progFd = (int)progFd;
  auto pkt = info[1].As<Napi::Buffer<uint8_t>>();
  t->in.assign(pkt.Data(), pkt.Data() + pkt.Length());
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    EDGELB_ARG_INT(info, 2, "repeat", 1, 100000000, r, false);
    t->repeat = (int)r;
  }
  Napi::Object o = OptionsArg(info, 3);
  int64_t outSize = (int64_t)t->in.size() + 512;
  bool has = false;
  if (!OptInt(o, "dataOutSize", 0, 1 << 20, &outSize, &has)) return false;
  t->out.assign((size_t)outSize == 0 ? 1 : (size_t)outSize, 0);
  std::string ctx;
  if (!OptBytes(o, "ctx", &ctx, &has)) return false;
  if (has) {
    t->ctxIn.assign(ctx.begin(), ctx.end());
    t->ctxOut.assign(ctx.size(), 0);
  }
  return true;
}

static Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TestRun t;
  if (!ParseTestRun(info, &t)) return env.Undefined();
  t.Run();
  if (t.err != 0) {
    ThrowErrno(env, "bpf_prog_test_run_opts", t.err);
    return env.Undefined();
  }
  return t.Result(env);
}

class TestRunWorker : public Napi::AsyncWorker {
 public:
  TestRunWorker(Napi::Env env, TestRun t)
      : Napi::AsyncWorker(env, "edgelb:progTestRun"), t_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { t_.Run(); }
  void OnOK() override {
    Napi::Env env = Env();
    if (t_.err != 0) {
      ThrowErrno(env, "bpf_prog_test_run_opts", t_.err);
      Napi::Error e = env.GetAndClearPendingException();
      deferred_.Reject(e.Value());
      return;
    }
    deferred_.Resolve(t_.Result(env));
  }

 private:
  TestRun t_;
  Napi::Promise::Deferred deferred_;
};

static Napi::Value ProgTestRunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TestRun t;
  if (!ParseTestRun(info, &t)) return env.Undefined();
  auto* w = new TestRunWorker(env, std::move(t));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

static void InitBpfProg(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpAttach", Napi::Function::New(env, XdpAttach, "xdpAttach"));
  exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach, "xdpDetach"));
  exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery, "xdpQuery"));
  exports.Set("xdpLinkAttach", Napi::Function::New(env, XdpLinkAttach, "xdpLinkAttach"));
  exports.Set("linkUpdate", Napi::Function::New(env, LinkUpdate, "linkUpdate"));
  exports.Set("linkDetach", Napi::Function::New(env, LinkDetach, "linkDetach"));
  exports.Set("progFdById", Napi::Function::New(env, ProgFdById, "progFdById"));
  exports.Set("mapFdById", Napi::Function::New(env, MapFdById, "mapFdById"));
  exports.Set("progInfo", Napi::Function::New(env, ProgInfo, "progInfo"));
  exports.Set("progTestRun", Napi::Function::New(env, ProgTestRun, "progTestRun"));
  exports.Set("progTestRunAsync", Napi::Function::New(env, ProgTestRunAsync, "progTestRunAsync"));
}

EDGELB_REGISTER(bpf_prog, InitBpfProg);

}  // namespace edgelb
