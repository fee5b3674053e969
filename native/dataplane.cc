// XDP data path: encode and decode the map keys and values of native/bpf/edgelb_shared.h from and
// to plain JS objects (the layout itself, xdpLayout, is in dataplane_layout.cc), so TypeScript
// never keeps a second copy of the structs.
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <string>

#include "bpf/edgelb_shared.h"
#include "registry.h"
#include "struct_codec.h"
#include "util.h"

namespace edgelb {

// dataplane_bfd.cc: the BFD offload's structs (native/bpf/bfd.h)
Napi::Value EncodeBfd(Napi::Env env, const std::string& kind, Napi::Object o);
Napi::Value DecodeBfd(const Napi::CallbackInfo& info, const std::string& kind);

namespace {

// ---- property helpers (throw TypeError and return false; the shared ones are in struct_codec.h) ----

bool ReqProto(Napi::Object o, const char* key, uint8_t* out) {
  Napi::Value v = o.Get(key);
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "tcp") *out = IPPROTO_TCP;
  else if (s == "udp") *out = IPPROTO_UDP;
  else {
    ThrowType(o.Env(), std::string("property ") + key + " must be 'tcp' or 'udp'");
    return false;
  }
  return true;
}

const char* ProtoName(uint8_t p) { return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "other"; }

// ---- encoders: xdpEncode(kind, object) -> Buffer ----

Napi::Value EncodeCfg(Napi::Env env, Napi::Object o) {
  edgelb_cfg c;
  memset(&c, 0, sizeof(c));
  int64_t v;
  c.layout_version = EDGELB_LAYOUT_VERSION;
  if (!ReqInt(o, "maglevSize", 1, 0x7fffffff, &v)) return env.Undefined();
  c.maglev_size = (uint32_t)v;
  if (!ReqInt(o, "maxServices", 1, 65535, &v)) return env.Undefined();
  c.max_services = (uint32_t)v;
  // ports: [[lo, hi], ...] (at most EDGELB_PORT_RANGES, each 1..65535, lo <= hi)
  Napi::Value pv = o.Get("ports");
  if (!pv.IsArray()) return ThrowType(env, "property ports must be an array of [lo, hi]"), env.Undefined();
  Napi::Array pa = pv.As<Napi::Array>();
  if (pa.Length() < 1 || pa.Length() > EDGELB_PORT_RANGES)
    return ThrowRange(env, "ports: 1.." + std::to_string(EDGELB_PORT_RANGES) + " ranges"), env.Undefined();
  for (uint32_t i = 0; i < pa.Length(); i++) {
    Napi::Value r = pa.Get(i);
    if (!r.IsArray() || r.As<Napi::Array>().Length() != 2) return ThrowType(env, "ports: each range is [lo, hi]"), env.Undefined();
    Napi::Value lo = r.As<Napi::Array>().Get((uint32_t)0), hi = r.As<Napi::Array>().Get((uint32_t)1);
    if (!lo.IsNumber() || !hi.IsNumber()) return ThrowType(env, "ports: lo and hi must be numbers"), env.Undefined();
    double l = lo.As<Napi::Number>().DoubleValue(), h = hi.As<Napi::Number>().DoubleValue();
    if (l != (int64_t)l || h != (int64_t)h || l < 1 || h > 65535 || l > h)
      return ThrowRange(env, "ports: a range is 1 <= lo <= hi <= 65535"), env.Undefined();
    c.ports[i].lo = (uint16_t)l;
    c.ports[i].hi = (uint16_t)h;
    c.port_total += (uint32_t)(h - l + 1);
  }
  bool ok = true;
  c.snat_share = (uint32_t)IntOr(o, "snatShare", 0, 65535, 0, &ok);
  if (!ok) return env.Undefined();
  c.tcp_syn_timeout = (uint32_t)IntOr(o, "tcpSynTimeout", 1, 86400, 5, &ok);
  if (!ok) return env.Undefined();
  c.tcp_fin_timeout = (uint32_t)IntOr(o, "tcpFinTimeout", 1, 86400, 10, &ok);
  if (!ok) return env.Undefined();
  c.tcp_rst_timeout = (uint32_t)IntOr(o, "tcpRstTimeout", 1, 86400, 2, &ok);
  if (!ok) return env.Undefined();
  c.echo_rate = (uint32_t)IntOr(o, "echoRate", 0, 1000000000, 1000, &ok);
  if (!ok) return env.Undefined();
  bool rst = false, has = false;
  if (!OptBool(o, "rstUnserved", &rst, &has)) return env.Undefined();
  if (rst) c.flags |= EDGELB_CFG_F_RST_UNSERVED;
  bool sync = false;
  if (!OptBool(o, "sync", &sync, &has)) return env.Undefined();
  if (sync) c.flags |= EDGELB_CFG_F_SYNC;
  Napi::Value hk = o.Get("hashKey");
  if (!hk.IsUndefined()) {
    if (!hk.IsBuffer() || hk.As<Napi::Buffer<uint8_t>>().Length() != sizeof(c.hash_key))
      return ThrowType(env, "hashKey must be a Buffer of 16 bytes"), env.Undefined();
    memcpy(c.hash_key, hk.As<Napi::Buffer<uint8_t>>().Data(), sizeof(c.hash_key));
  }
  int f = ReqAddr(o, "node4", &c.node4, true);
  if (f == 0) return env.Undefined();
  if (f == 6) return ThrowType(env, "node4 must be IPv4"), env.Undefined();
  f = ReqAddr(o, "node6", &c.node6, true);
  if (f == 0) return env.Undefined();
  if (f == 4) return ThrowType(env, "node6 must be IPv6"), env.Undefined();
  return Bytes(env, c);
}

Napi::Value EncodeSvcKey(Napi::Env env, Napi::Object o) {
  edgelb_svc_key k;
  memset(&k, 0, sizeof(k));
  int f = ReqAddr(o, "vip", &k.vip);
  if (f == 0) return env.Undefined();
  k.family = (uint8_t)f;
  int64_t port;
  if (!ReqInt(o, "port", 1, 65535, &port)) return env.Undefined();
  k.port = htons((uint16_t)port);
  if (!ReqProto(o, "protocol", &k.proto)) return env.Undefined();
  return Bytes(env, k);
}

Napi::Value EncodeSvc(Napi::Env env, Napi::Object o) {
  edgelb_svc s;
  memset(&s, 0, sizeof(s));
  int64_t v;
  if (!ReqInt(o, "index", 0, 0xfffffffe, &v)) return env.Undefined();
  s.index = (uint32_t)v;
  if (!ReqInt(o, "mode", 0, 255, &v)) return env.Undefined();
  s.mode = (uint8_t)v;
  if (!ReqInt(o, "sel", 0, 255, &v)) return env.Undefined();
  s.sel = (uint8_t)v;
  if (!ReqInt(o, "timeoutSec", 0, 0xffffffff, &v)) return env.Undefined();
  s.timeout_sec = (uint32_t)v;
  if (!ReqInt(o, "count", 0, EDGELB_SVC_LIST_MAX, &v)) return env.Undefined();
  s.count = (uint32_t)v;
  return Bytes(env, s);
}

Napi::Value EncodeVipKey(Napi::Env env, Napi::Object o) {
  edgelb_vip_key k;
  memset(&k, 0, sizeof(k));
  int f = ReqAddr(o, "vip", &k.vip);
  if (f == 0) return env.Undefined();
  k.family = (uint32_t)f;
  return Bytes(env, k);
}

// { address?: string, port?: number, gen: number } (no address: an unused slot)
Napi::Value EncodeBackend(Napi::Env env, Napi::Object o) {
  edgelb_backend b;
  memset(&b, 0, sizeof(b));
  int f = ReqAddr(o, "address", &b.addr, true);
  if (f == 0) return env.Undefined();
  int64_t v;
  if (f > 0) {
    b.family = (uint8_t)f;
    if (!ReqInt(o, "port", 1, 65535, &v)) return env.Undefined();
    b.port = htons((uint16_t)v);
  }
  if (!ReqInt(o, "gen", 0, 0xffffffff, &v)) return env.Undefined();
  b.gen = (uint32_t)v;
  return Bytes(env, b);
}

// A conntrack key for the map of its family: struct edgelb_ct4_key (16 bytes, edgelb_ct4) for
// IPv4, struct edgelb_ct_key (40 bytes, edgelb_ct6) for IPv6.
Napi::Value EncodeCtKey(Napi::Env env, Napi::Object o) {
  edgelb_ct_key k;
  memset(&k, 0, sizeof(k));
  int f1 = ReqAddr(o, "src", &k.src);
  if (f1 == 0) return env.Undefined();
  int f2 = ReqAddr(o, "dst", &k.dst);
  if (f2 == 0) return env.Undefined();
  if (f1 != f2) return ThrowType(env, "src and dst families differ"), env.Undefined();
  k.family = (uint8_t)f1;
  int64_t v;
  if (!ReqInt(o, "sport", 0, 65535, &v)) return env.Undefined();
  k.sport = htons((uint16_t)v);
  if (!ReqInt(o, "dport", 0, 65535, &v)) return env.Undefined();
  k.dport = htons((uint16_t)v);
  if (!ReqProto(o, "protocol", &k.proto)) return env.Undefined();
  if (f1 == 6) return Bytes(env, k);
  edgelb_ct4_key k4;
  memset(&k4, 0, sizeof(k4));
  k4.src = k.src.a[0];
  k4.dst = k.dst.a[0];
  k4.sport = k.sport;
  k4.dport = k.dport;
  k4.proto = k.proto;
  return Bytes(env, k4);
}

// "aa:bb:cc:dd:ee:ff" -> 6 bytes; false after throwing.
bool ReqMac(Napi::Object o, const char* key, uint8_t out[6]) {
  Napi::Value v = o.Get(key);
  unsigned b[6];
  char tail;
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s.size() != 17 || sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
    ThrowType(o.Env(), std::string("property ") + key + " must be a MAC address (aa:bb:cc:dd:ee:ff)");
    return false;
  }
  for (int i = 0; i < 6; i++) out[i] = (uint8_t)b[i];
  return true;
}

std::string MacString(const uint8_t m[6]) {
  char buf[18];
  snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

// { smac, dmac, ifindex, gen } (a valid next hop) or { gen } (none: a miss)
Napi::Value EncodeNh(Napi::Env env, Napi::Object o) {
  edgelb_nh n;
  memset(&n, 0, sizeof(n));
  int64_t v;
  if (!ReqInt(o, "gen", 0, 0xffffffff, &v)) return env.Undefined();
  n.gen = (uint32_t)v;
  if (o.Get("dmac").IsUndefined()) return Bytes(env, n);
  if (!ReqMac(o, "smac", n.smac) || !ReqMac(o, "dmac", n.dmac)) return env.Undefined();
  if (!ReqInt(o, "ifindex", 1, 0x7fffffff, &v)) return env.Undefined();
  n.ifindex = (uint32_t)v;
  n.flags = EDGELB_NH_F_VALID;
  return Bytes(env, n);
}

Napi::Value EncodeU32(Napi::Env env, Napi::Object o) {
  int64_t v;
  if (!ReqInt(o, "value", 0, 0xffffffff, &v)) return env.Undefined();
  uint32_t u = (uint32_t)v;
  return Bytes(env, u);
}

Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "kind", env.Undefined());
  EDGELB_ARG_OBJECT(info, 1, "object", env.Undefined());
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Object o = info[1].As<Napi::Object>();
  if (kind == "cfg") return EncodeCfg(env, o);
  if (kind == "svcKey") return EncodeSvcKey(env, o);
  if (kind == "svc") return EncodeSvc(env, o);
  if (kind == "vipKey") return EncodeVipKey(env, o);
  if (kind == "backend") return EncodeBackend(env, o);
  if (kind == "ctKey") return EncodeCtKey(env, o);
  if (kind == "u32") return EncodeU32(env, o);
  if (kind == "nh") return EncodeNh(env, o);
  if (kind.rfind("bfd", 0) == 0) return EncodeBfd(env, kind, o);
  ThrowType(env, "unknown struct kind: " + kind);
  return env.Undefined();
}

// ---- decoders: xdpDecode(kind, Buffer) -> object ----

Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_STRING(info, 0, "kind", env.Undefined());
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  Napi::Object o = Napi::Object::New(env);
  if (kind == "cfg") {
    edgelb_cfg c;
    if (!FromBytes(info, 1, &c)) return env.Undefined();
    o.Set("layoutVersion", c.layout_version);
    o.Set("maglevSize", c.maglev_size);
    o.Set("maxServices", c.max_services);
    Napi::Array ports = Napi::Array::New(env);
    for (uint32_t i = 0; i < EDGELB_PORT_RANGES && c.ports[i].lo != 0; i++) {
      Napi::Array r = Napi::Array::New(env, 2);
      r.Set((uint32_t)0, c.ports[i].lo);
      r.Set((uint32_t)1, c.ports[i].hi);
      ports.Set(i, r);
    }
    o.Set("ports", ports);
    o.Set("portTotal", c.port_total);
    o.Set("snatShare", c.snat_share);
    o.Set("tcpSynTimeout", c.tcp_syn_timeout);
    o.Set("tcpFinTimeout", c.tcp_fin_timeout);
    o.Set("tcpRstTimeout", c.tcp_rst_timeout);
    o.Set("echoRate", c.echo_rate);
    o.Set("rstUnserved", (c.flags & EDGELB_CFG_F_RST_UNSERVED) != 0);
    o.Set("sync", (c.flags & EDGELB_CFG_F_SYNC) != 0);
    o.Set("node4", AddrString(env, c.node4, 4));
    o.Set("node6", AddrString(env, c.node6, 6));
  } else if (kind == "svcKey") {
    edgelb_svc_key k;
    if (!FromBytes(info, 1, &k)) return env.Undefined();
    o.Set("vip", AddrString(env, k.vip, k.family));
    o.Set("port", ntohs(k.port));
    o.Set("protocol", ProtoName(k.proto));
  } else if (kind == "svc") {
    edgelb_svc s;
    if (!FromBytes(info, 1, &s)) return env.Undefined();
    o.Set("index", s.index);
    o.Set("mode", s.mode);
    o.Set("sel", s.sel);
    o.Set("timeoutSec", s.timeout_sec);
    o.Set("count", s.count);
  } else if (kind == "backend") {
    edgelb_backend b;
    if (!FromBytes(info, 1, &b)) return env.Undefined();
    if (b.family != 0) {
      o.Set("address", AddrString(env, b.addr, b.family));
      o.Set("port", ntohs(b.port));
    }
    o.Set("gen", b.gen);
  } else if (kind == "ctKey") {
    // by length: an edgelb_ct4 key (16 bytes) or an edgelb_ct6 key (40)
    if (info.Length() > 1 && info[1].IsBuffer() && info[1].As<Napi::Buffer<uint8_t>>().Length() == sizeof(edgelb_ct4_key)) {
      edgelb_ct4_key k4;
      if (!FromBytes(info, 1, &k4)) return env.Undefined();
      edgelb_addr a;
      memset(&a, 0, sizeof(a));
      a.a[0] = k4.src;
      o.Set("src", AddrString(env, a, 4));
      a.a[0] = k4.dst;
      o.Set("dst", AddrString(env, a, 4));
      o.Set("sport", ntohs(k4.sport));
      o.Set("dport", ntohs(k4.dport));
      o.Set("protocol", ProtoName(k4.proto));
      return o;
    }
    edgelb_ct_key k;
    if (!FromBytes(info, 1, &k)) return env.Undefined();
    o.Set("src", AddrString(env, k.src, k.family));
    o.Set("dst", AddrString(env, k.dst, k.family));
    o.Set("sport", ntohs(k.sport));
    o.Set("dport", ntohs(k.dport));
    o.Set("protocol", ProtoName(k.proto));
  } else if (kind == "ct") {
    edgelb_ct c;
    if (!FromBytes(info, 1, &c)) return env.Undefined();
    // the family is not in the value: IPv4 when only a[0] of nh is set
    int fam = (c.nh.a[1] | c.nh.a[2] | c.nh.a[3]) == 0 ? 4 : 6;
    if (info.Length() > 2 && info[2].IsNumber()) fam = info[2].As<Napi::Number>().Int32Value();
    o.Set("newSrc", AddrString(env, c.new_src, fam));
    o.Set("newDst", AddrString(env, c.new_dst, fam));
    o.Set("nextHop", AddrString(env, c.nh, fam));
    o.Set("newSport", ntohs(c.new_sport));
    o.Set("newDport", ntohs(c.new_dport));
    o.Set("mode", c.mode);
    o.Set("reply", (c.flags & EDGELB_CT_F_REPLY) != 0);
    o.Set("snat", (c.flags & EDGELB_CT_F_SNAT) != 0);
    o.Set("dnat", (c.flags & EDGELB_CT_F_DNAT) != 0);
    o.Set("l2Cached", (c.flags & EDGELB_CT_F_L2) != 0);
    o.Set("synced", (c.flags & EDGELB_CT_F_SYNCED) != 0);
    o.Set("state", c.state);
    o.Set("lastNs", Napi::BigInt::New(env, (uint64_t)c.last_ns));
    o.Set("timeoutSec", c.timeout_sec);
    o.Set("svcIndex", c.svc_index);
    o.Set("backendIndex", c.be_index);
    o.Set("backendGen", c.be_gen);
    o.Set("ifindex", c.ifindex);
  } else if (kind == "nh") {
    edgelb_nh n;
    if (!FromBytes(info, 1, &n)) return env.Undefined();
    o.Set("gen", n.gen);
    if (n.flags & EDGELB_NH_F_VALID) {
      o.Set("smac", MacString(n.smac));
      o.Set("dmac", MacString(n.dmac));
      o.Set("ifindex", n.ifindex);
    }
  } else if (kind.rfind("bfd", 0) == 0) {
    return DecodeBfd(info, kind);
  } else if (kind == "stats") {
    edgelb_stats s;
    if (!FromBytes(info, 1, &s)) return env.Undefined();
    o.Set("packets", Napi::BigInt::New(env, (uint64_t)s.packets));
    o.Set("bytes", Napi::BigInt::New(env, (uint64_t)s.bytes));
  } else {
    ThrowType(env, "unknown struct kind: " + kind);
    return env.Undefined();
  }
  return o;
}

}  // namespace

static void InitDataplane(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpEncode", Napi::Function::New(env, Encode, "xdpEncode"));
  exports.Set("xdpDecode", Napi::Function::New(env, Decode, "xdpDecode"));
}

EDGELB_REGISTER(dataplane, InitDataplane);

}  // namespace edgelb
