"""Where a benchmark ran: the CPU, the micro-kernels our op picked on it, and
whether TF runs its CPU convolutions through oneDNN there by default.

Figures are only comparable between runs on the same CPU class (AVX2 only,
AVX-512, AVX-512 with AMX), so every report starts with this.
"""
import os
import platform

# CPU flags (as /proc/cpuinfo names them) that decide our tier or TF's path.
_FEATURES = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")


def _cpuinfo():
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def describe():
    """A dict: cpu, cpu_family, cpu_model, features, tier, kernels (dtype ->
    kernel and what it reads), onednn_default (None when the environment
    forces TF_ENABLE_ONEDNN_OPTS)."""
    from tf_custom_op import _builtins, _loader
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    report = _loader.cpu_kernel_report()
    forced = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    return {
        "cpu": info.get("model name") or platform.processor() or platform.machine(),
        "cpu_family": info.get("cpu family"),
        "cpu_model": info.get("model"),
        "features": [f for f in _FEATURES if f in flags],
        "tier": report["tier"],
        "kernels": report["kernels"],
        "few_channels": report["few_channels"],
        "grouped_few_channels": report["grouped_few_channels"],
        "onednn_default": None if forced else _builtins.ONEDNN,
        "isa_cap": os.environ.get("TF_CUSTOM_OP_ISA"),
    }


def print_description(desc, file=None):
    family = f" (family {desc['cpu_family']} model {desc['cpu_model']})" if desc["cpu_family"] else ""
    print(f"CPU: {desc['cpu']}{family}; features: {' '.join(desc['features']) or 'none listed'}",
          file=file)
    cap = f" (capped by TF_CUSTOM_OP_ISA={desc['isa_cap']})" if desc["isa_cap"] else ""
    print(f"our tier: {desc['tier']}{cap}; kernels: " + "; ".join(
        f"{dtype} {entry['kernel']} reading {entry['reads']}"
        for dtype, entry in desc["kernels"].items()), file=file)
    few, grouped = desc["few_channels"], desc["grouped_few_channels"]
    few_kernel = few["kernel"]["kernel"] if few["kernel"] else "none (the float32 kernel)"
    print(f"plans by shape (float32, float16, bfloat16): grouped with C/groups <= "
          f"{grouped['max_depth']}: pixel-vector engine, {grouped['kernel']}; other C/groups <= "
          f"{few['max_depth']}: {few_kernel}", file=file)
    default = desc["onednn_default"]
    state = ("forced by TF_ENABLE_ONEDNN_OPTS in this environment" if default is None
             else ("on" if default else "off") + " by default on this CPU")
    print(f"TF's oneDNN: {state}; 'TF' below runs with it forced on, 'TF-off' forced off",
          file=file)
