{
  "targets": [
    {
      "target_name": "nsbox_child",
      "type": "static_library",
      "sources": [
        "csrc/child.cc",
        "csrc/child_fs.cc",
        "csrc/child_copy.cc",
        "csrc/child_lock.cc",
        "csrc/child_security.cc",
        "csrc/child_landlock.cc",
        "csrc/child_init.cc",
        "csrc/init_image.cc",
        "csrc/child_gate.cc",
        "csrc/child_tty.cc",
        "csrc/child_socket.cc",
        "csrc/child_hook.cc"
      ],
      "defines": [
        "_GNU_SOURCE"
      ],
      "cflags": [
        "-fPIC"
      ],
      "cflags_cc": [
        "-fPIC",
        "-fvisibility=hidden",
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers",
        "-fno-exceptions",
        "-fno-rtti",
        "-fno-builtin",
        "-fno-tree-loop-distribute-patterns",
        "-fno-stack-protector"
      ],
      "cflags_cc!": [
        "-std=gnu++17"
      ],
      "conditions": [
        [
          "werror==1",
          {
            "cflags": [
              "-Werror"
            ],
            "cflags_cc": [
              "-Werror"
            ]
          }
        ]
      ]
    },
    {
      "target_name": "nsbox",
      "dependencies": [
        "nsbox_child"
      ],
      "ldflags": [
        "-Wl,-z,now",
        "-Wl,-z,relro"
      ],
      "sources": [
        "csrc/addon.cc",
        "csrc/errors.cc",
        "csrc/constants.cc",
        "csrc/features.cc",
        "csrc/ns.cc",
        "csrc/ns_make.cc",
        "csrc/spawn.cc",
        "csrc/init_memfd.cc",
        "csrc/spawn_session.cc",
        "csrc/spawn_async.cc",
        "csrc/spawn_hook.cc",
        "csrc/gate.cc",
        "csrc/plan_parse.cc",
        "csrc/spawn_maps.cc",
        "csrc/pidfd.cc",
        "csrc/exit_pin.cc",
        "csrc/mount.cc",
        "csrc/filewatch.cc",
        "csrc/netlink.cc",
        "csrc/netlink_sync.cc",
        "csrc/nftables.cc",
        "csrc/seccomp_notify.cc",
        "csrc/pty.cc",
        "csrc/gate_client.cc",
        "csrc/bpf.cc",
        "csrc/startup_files.cc",
        "csrc/process_exit.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=9",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GNU_SOURCE"
      ],
      "cflags": [
        "-fvisibility=hidden",
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers"
      ],
      "cflags_cc": [
        "-fvisibility=hidden",
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers"
      ],
      "cflags_cc!": [
        "-std=gnu++17"
      ],
      "conditions": [
        [
          "OS!='linux'",
          {
            "sources!": [
              "csrc/spawn.cc",
        "csrc/gate.cc",
              "csrc/plan_parse.cc"
            ]
          }
        ],
        [
          "werror==1",
          {
            "cflags": [
              "-Werror"
            ],
            "cflags_cc": [
              "-Werror"
            ]
          }
        ]
      ]
    }
  ],
  "variables": {
    "werror%": "<!(node -p \"process.env.NSBOX_WERROR === '1' ? 1 : 0\")"
  }
}
