{
  "targets": [
    {
      "target_name": "hako",
      "sources": ["<!@(ls -1 cpp/addon/*.cc)", "<!@(ls -1 cpp/front/*.cc | grep -v /main.cc)", "cpp/common/run_captured.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "cpp"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-Wall", "-Wextra", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-ffunction-sections", "-fdata-sections"],
      "cflags_cc!": ["-fno-rtti", "-std=gnu++17", "-std=gnu++14", "-fno-exceptions"],
      "ldflags": ["-static-libstdc++", "-static-libgcc", "-Wl,--exclude-libs,ALL", "-Wl,--version-script=<(module_root_dir)/cpp/addon/exports.map", "-Wl,--gc-sections"]
    }
  ]
}
