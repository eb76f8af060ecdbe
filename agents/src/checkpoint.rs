//! Checkpoints: one safetensors file per boundary holding the policy, the optimizer state
//! and the normalisation statistics, with the run spec and progress as JSON metadata,
//! written atomically (temporary file, fsync, rename).
//!
//! Tensors are copied to host memory to be written, whatever device the run is on, and
//! loaded onto the device the caller names (the `_on` functions) or the run's own device
//! ([`Checkpoint::resume_with`]); a checkpoint written on one device resumes on any other.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use vlmgym_envs::wrappers::RunningMeanStd;

use crate::normalize::ObsNormalizer;
use crate::policy::{ActionKind, ActorCritic, Arch};
use crate::ppo::{Ppo, RunSpec};

/// The format tag written into every checkpoint.
pub const FORMAT: &str = "vlmgym-ppo-1";

/// What a checkpoint says about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// [`FORMAT`].
    pub format: String,
    /// The run it belongs to.
    pub spec: RunSpec,
    /// Updates completed.
    pub iteration: u64,
    /// Env steps taken.
    pub global_step: u64,
    /// Observation length the policy takes.
    pub obs_dim: usize,
}

/// Reading and writing checkpoints.
pub struct Checkpoint;

/// Normalisation statistics as host tensors (they are only ever written to a file).
fn rms_tensors(prefix: &str, rms: &RunningMeanStd, out: &mut BTreeMap<String, Tensor>) -> Result<()> {
    out.insert(format!("{prefix}.mean"), Tensor::new(rms.mean.as_slice(), &Device::Cpu)?);
    out.insert(format!("{prefix}.var"), Tensor::new(rms.var.as_slice(), &Device::Cpu)?);
    out.insert(format!("{prefix}.count"), Tensor::new(&[rms.count], &Device::Cpu)?);
    Ok(())
}

fn read_rms(prefix: &str, t: &BTreeMap<String, Tensor>) -> Result<RunningMeanStd> {
    let get = |k: &str| -> Result<Vec<f64>> {
        t.get(&format!("{prefix}.{k}"))
            .with_context(|| format!("the checkpoint lacks `{prefix}.{k}`"))?
            .to_vec1::<f64>()
            .map_err(Into::into)
    };
    Ok(RunningMeanStd { mean: get("mean")?, var: get("var")?, count: get("count")?[0] })
}

impl Checkpoint {
    /// Writes `ppo`'s state to `path` atomically (copied to host memory first when the run
    /// is on another device).
    pub fn save(ppo: &Ppo, path: &Path) -> Result<()> {
        let (policy, adam, obs_norm, rew_norm) = ppo.parts();
        let mut tensors = BTreeMap::new();
        for (k, v) in policy.params().tensors() {
            tensors.insert(format!("policy.{k}"), v.to_device(&Device::Cpu)?);
        }
        for (k, v) in adam.state()? {
            tensors.insert(k, v.to_device(&Device::Cpu)?);
        }
        if let Some(n) = obs_norm {
            rms_tensors("obs_rms", &n.rms, &mut tensors)?;
        }
        if let Some(r) = rew_norm {
            rms_tensors("ret_rms", &r.rms, &mut tensors)?;
        }
        let meta = CheckpointMeta {
            format: FORMAT.into(),
            spec: ppo.spec().clone(),
            iteration: ppo.iteration(),
            global_step: ppo.global_step(),
            obs_dim: policy.obs_dim(),
        };
        let info = HashMap::from([("vlmgym".to_string(), serde_json::to_string(&meta)?)]);
        let bytes = safetensors::serialize(tensors.iter().map(|(k, v)| (k.as_str(), v)), Some(info))?;
        write_atomically(path, &bytes)
    }

    /// Reads and checks a checkpoint file, with the tensors in host memory
    /// ([`Checkpoint::read_on`] with [`Device::Cpu`]).
    pub fn read(path: &Path) -> Result<(CheckpointMeta, BTreeMap<String, Tensor>)> {
        Self::read_on(path, &Device::Cpu)
    }

    /// Reads and checks a checkpoint file, loading its tensors onto `device`: a missing,
    /// truncated or foreign file is an error that says so.
    pub fn read_on(path: &Path, device: &Device) -> Result<(CheckpointMeta, BTreeMap<String, Tensor>)> {
        let (meta, bytes) = Self::read_checked(path)?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| corrupt(path, e))?;
        Ok((meta, tensors.into_iter().collect()))
    }

    /// The metadata and the bytes of a checkpoint file whose header and tensor layout are
    /// valid (so loading its tensors can fail only on the device).
    fn read_checked(path: &Path) -> Result<(CheckpointMeta, Vec<u8>)> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
        let corrupt = |why: String| corrupt(path, why);
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let meta_json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get("vlmgym"))
            .ok_or_else(|| corrupt("no vlmgym metadata".into()))?;
        let meta: CheckpointMeta = serde_json::from_str(meta_json).map_err(|e| corrupt(e.to_string()))?;
        if meta.format != FORMAT {
            bail!("checkpoint {} has format `{}`, this vlmgym reads `{FORMAT}`", path.display(), meta.format);
        }
        safetensors::SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
        Ok((meta, bytes))
    }

    /// Restores a run from a checkpoint to continue training on the CPU
    /// ([`Checkpoint::resume_on`] with [`Device::Cpu`]).
    pub fn resume(path: &Path) -> Result<Ppo> {
        Self::resume_on(path, &Device::Cpu)
    }

    /// Restores a run from a checkpoint to continue training with the networks on `device`.
    pub fn resume_on(path: &Path, device: &Device) -> Result<Ppo> {
        Self::resume_with(path, |spec| Ppo::new_on(spec.clone(), device))
    }

    /// Restores a run whose vector env the caller builds: `start` gets the checkpoint's
    /// [`RunSpec`] and returns a fresh run (e.g. [`Ppo::with_env_on`] on wrapped envs), whose
    /// networks and state are then overwritten from the checkpoint, loaded onto that run's
    /// device ([`Ppo::device`]).
    pub fn resume_with(path: &Path, start: impl FnOnce(&RunSpec) -> Result<Ppo>) -> Result<Ppo> {
        let (meta, bytes) = Self::read_checked(path)?;
        let mut ppo = start(&meta.spec)?;
        let tensors: BTreeMap<String, Tensor> = candle_core::safetensors::load_buffer(&bytes, ppo.device())
            .map_err(|e| corrupt(path, e))?
            .into_iter()
            .collect();
        if ppo.policy().obs_dim() != meta.obs_dim {
            bail!(
                "checkpoint {} is for observations of {} numbers, {} gives {}",
                path.display(),
                meta.obs_dim,
                meta.spec.env_id,
                ppo.policy().obs_dim()
            );
        }
        {
            let (policy, adam, obs_norm, rew_norm) = ppo.parts_mut();
            policy
                .params()
                .load(&strip("policy.", &tensors))
                .with_context(|| format!("checkpoint {}", path.display()))?;
            adam.load_state(&tensors).with_context(|| format!("checkpoint {}: optimizer state", path.display()))?;
            if let Some(n) = obs_norm {
                n.rms = read_rms("obs_rms", &tensors)?;
            }
            if let Some(r) = rew_norm {
                r.rms = read_rms("ret_rms", &tensors)?;
            }
        }
        ppo.set_progress(meta.iteration, meta.global_step);
        Ok(ppo)
    }
}

/// The format tag (`vlmgym-ppo-1`, `vlmgym-sac-1`, ...) of a checkpoint file: a missing or
/// foreign file is an error that says so.
pub fn format_of(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    format_of_bytes(path, &bytes)
}

/// [`format_of`] for a file already read.
pub(crate) fn format_of_bytes(path: &Path, bytes: &[u8]) -> Result<String> {
    #[derive(Deserialize)]
    struct Tag {
        format: String,
    }
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| corrupt(path, e))?;
    let json =
        header.metadata().as_ref().and_then(|m| m.get("vlmgym")).ok_or_else(|| corrupt(path, "no vlmgym metadata"))?;
    let tag: Tag = serde_json::from_str(json).map_err(|e| corrupt(path, e))?;
    Ok(tag.format)
}

pub(crate) fn corrupt(path: &Path, why: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("checkpoint {} is corrupt or not a vlmgym checkpoint: {why}", path.display())
}

fn strip(prefix: &str, t: &BTreeMap<String, Tensor>) -> BTreeMap<String, Tensor> {
    t.iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone()))).collect()
}

/// A trained policy ready to act: what `vlmgym eval` and the viewer load.
pub struct PolicyBundle {
    /// The run it came from.
    pub spec: RunSpec,
    /// The policy.
    pub policy: ActorCritic,
    /// Observation normalisation to apply before the policy (frozen).
    pub obs_norm: Option<ObsNormalizer>,
    /// Updates completed when saved.
    pub iteration: u64,
    /// Env steps when saved.
    pub global_step: u64,
}

/// Loads the policy of a checkpoint for evaluation on the CPU ([`load_policy_on`] with
/// [`Device::Cpu`]).
pub fn load_policy(
    path: &Path,
    obs_space: &vlmgym_envs::Space,
    action_space: &vlmgym_envs::Space,
) -> Result<PolicyBundle> {
    load_policy_on(path, obs_space, action_space, &Device::Cpu)
}

/// Loads the policy of a checkpoint for evaluation, onto `device`; `action_space` is the
/// env's, which must match the one the policy was trained on.
pub fn load_policy_on(
    path: &Path,
    obs_space: &vlmgym_envs::Space,
    action_space: &vlmgym_envs::Space,
    device: &Device,
) -> Result<PolicyBundle> {
    let obs_dim = obs_space.flatdim();
    let (meta, tensors) = Checkpoint::read_on(path, device)?;
    if meta.obs_dim != obs_dim {
        bail!(
            "checkpoint {} takes observations of {} numbers but the env gives {obs_dim}",
            path.display(),
            meta.obs_dim
        );
    }
    let kind = ActionKind::from_space(action_space)?;
    let cfg = &meta.spec.ppo;
    let arch = Arch::from_config(&cfg.policy, &cfg.hidden, obs_space)?;
    let policy = ActorCritic::new(obs_dim, kind, &arch, cfg.init_log_std, &mut ChaCha8Rng::seed_from_u64(0), device)?;
    policy
        .params()
        .load(&strip("policy.", &tensors))
        .with_context(|| format!("checkpoint {} does not fit the env's action space {action_space}", path.display()))?;
    let obs_norm = if cfg.norm_obs {
        let mut n = ObsNormalizer::new(obs_dim, cfg.clip_obs);
        n.rms = read_rms("obs_rms", &tensors)?;
        Some(n)
    } else {
        None
    };
    Ok(PolicyBundle { spec: meta.spec, policy, obs_norm, iteration: meta.iteration, global_step: meta.global_step })
}

/// Writes `bytes` to `path` so that readers see either the old file or the new one whole.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
    {
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
