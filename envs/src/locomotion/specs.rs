//! The locomotion family's registry entries: 1,000-step episodes, played at the model's
//! control rate.

use super::{Body, Legged};
use crate::metadata::EnvMetadata;
use crate::registry::{boxed, EnvSpec};

/// The registry entries of the locomotion envs.
pub fn specs() -> Vec<EnvSpec> {
    let spec = |id: &str, description: &str, body: Body, fps: f64| {
        EnvSpec::new(id, description, move |k| boxed(Legged::from_kwargs(body, k)))
            .max_episode_steps(1000)
            .metadata(EnvMetadata::default().render_fps(fps))
    };
    vec![
        spec("Ant-v0", "Gymnasium's ant on rapier: walk forward (Ant-v5's terms)", Body::Ant, 20.0),
        spec(
            "HalfCheetah-v0",
            "Gymnasium's half cheetah on rapier: run forward (HalfCheetah-v5's terms)",
            Body::HalfCheetah,
            20.0,
        ),
        spec("Hopper-v0", "Gymnasium's hopper on rapier: hop forward (Hopper-v5's terms)", Body::Hopper, 125.0),
        spec("Walker2d-v0", "Gymnasium's walker on rapier: walk forward (Walker2d-v5's terms)", Body::Walker2d, 125.0),
        spec(
            "Humanoid-v0",
            "Gymnasium's humanoid on rapier: walk forward (Humanoid-v5's terms)",
            Body::Humanoid,
            66.66666666666667,
        ),
    ]
}
