//! Where candle models run: `cpu` (the default, and the path tested here) or `cuda:N`.
//!
//! CUDA needs the crate built with the `cuda` feature on a machine with a CUDA toolkit;
//! without it, asking for `cuda:N` is an error that says so.

use anyhow::{bail, Context, Result};
pub use candle_core::Device;

/// Parses a `--device` value: `cpu`, `cuda` (GPU 0) or `cuda:N`.
pub fn parse_device(spec: &str) -> Result<Device> {
    let s = spec.trim().to_ascii_lowercase();
    let ordinal = match s.as_str() {
        "cpu" => return Ok(Device::Cpu),
        "cuda" | "gpu" => 0,
        other => match other.strip_prefix("cuda:") {
            Some(n) => n.parse::<usize>().with_context(|| format!("--device `{spec}`: `{n}` is not a GPU number"))?,
            None => bail!("--device `{spec}` is not `cpu` or `cuda:N`"),
        },
    };
    if !cfg!(feature = "cuda") {
        bail!(
            "--device {spec}: this build has no CUDA support; rebuild with `--features cuda` on a machine with a \
             CUDA toolkit, or use --device cpu"
        );
    }
    Device::new_cuda(ordinal).with_context(|| format!("--device {spec}: cannot open CUDA device {ordinal}"))
}

/// A short name of `device` for logs and reports: `cpu` or `cuda:N`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_rejects_nonsense() {
        assert!(matches!(parse_device("cpu").unwrap(), Device::Cpu));
        assert!(matches!(parse_device(" CPU ").unwrap(), Device::Cpu));
        assert_eq!(device_name(&Device::Cpu), "cpu");
        let e = parse_device("tpu").unwrap_err().to_string();
        assert!(e.contains("is not `cpu` or `cuda:N`"), "{e}");
        let e = format!("{:#}", parse_device("cuda:x").unwrap_err());
        assert!(e.contains("`x` is not a GPU number"), "{e}");
        if !cfg!(feature = "cuda") {
            let e = parse_device("cuda:0").unwrap_err().to_string();
            assert!(e.contains("no CUDA support"), "{e}");
        }
    }
}
