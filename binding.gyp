{
  "variables": {
    "edgelb_sanitize%": "<!(node -p \"process.env.EDGELB_SANITIZE === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "edgelb",
      "sources": ["<!@(ls -1 native/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GNU_SOURCE"
      ],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags_cc": ["-std=gnu++17", "-fvisibility=hidden", "-fno-exceptions"],
      "libraries": ["-lbpf", "-lelf", "-lz"],
      "conditions": [
        ["edgelb_sanitize==1", {
          "cflags": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=address,undefined"],
          "defines": ["EDGELB_PLANTED_OVERFLOW"]
        }]
      ]
    }
  ]
}
