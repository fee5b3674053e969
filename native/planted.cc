// Test-only: with -DEDGELB_PLANTED_OVERFLOW (set only in the sanitizer build, build/asan, by
// binding.gyp's edgelb_sanitize) the addon exports plantedOverflow(n), which writes one byte at
// index n of a 16-byte heap block; n = 16 is the heap-buffer-overflow that AddressSanitizer must
// report (test/asan/planted.test.ts). The normal build compiles this file to nothing.
#ifdef EDGELB_PLANTED_OVERFLOW
#include <stdlib.h>

#include "registry.h"
#include "util.h"

namespace edgelb {

static Napi::Value PlantedOverflow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_INT(info, 0, "index", 0, 64, index, env.Undefined());
  // a size the compiler cannot see, so the bad store reaches ASan (UBSan's object-size check would
  // stop a constant-size one first)
  volatile size_t size = 16;
  volatile char* p = static_cast<volatile char*>(malloc(size));
  p[index] = 1;  // the planted bug: index 16 is one past the block
  char v = p[index];
  free(const_cast<char*>(p));
  return Napi::Number::New(env, v);
}

static void InitPlanted(Napi::Env env, Napi::Object exports) {
  exports.Set("plantedOverflow", Napi::Function::New(env, PlantedOverflow, "plantedOverflow"));
}

EDGELB_REGISTER(planted, InitPlanted);

}  // namespace edgelb
#endif
