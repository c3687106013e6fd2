// SPDX-License-Identifier: GPL-2.0
/* maps.bpf.c: owns the definition of every shared map (see lib/maps.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#define FSIGHT_DEFINE_MAPS
#include "lib/maps.h"

char LICENSE[] SEC("license") = "GPL";
