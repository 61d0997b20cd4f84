{
  "targets": [
    {
      "target_name": "hako",
      "sources": ["cpp/addon/addon.cc", "cpp/addon/cgroups.cc", "cpp/addon/devices.cc", "cpp/addon/errors.cc", "cpp/addon/files.cc", "cpp/addon/process.cc", "cpp/addon/seccomp.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "cpp"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++20", "-fno-exceptions", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-rtti", "-std=gnu++17", "-std=gnu++14"]
    }
  ]
}
