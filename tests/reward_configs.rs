//! Every env that names a default reward synthesis config names a built-in one, and gives
//! every state quantity that config reads in `info["state"]` on reset and on a step: a
//! language reward without `--reward-config` must not fail on its first step.

use vlmgym::language_reward::RewardSettings;
use vlmgym_envs::env::STATE_KEY;
use vlmgym_envs::{make, registry, Options};
use vlmgym_reward::RewardSpec;

#[test]
fn every_default_reward_config_is_built_in_and_reads_state_the_env_gives() {
    let mut checked = Vec::new();
    for id in registry::ids() {
        let spec = registry::spec(&id).unwrap();
        let Some(name) = spec.metadata.reward_config.clone() else { continue };
        // Read as a run reads it (`semantic_only`, the score alone, is built into the settings).
        let settings = RewardSettings {
            config: name.clone(),
            ..RewardSettings::for_goal("g", None, None, 0.5, 0.03, "t".into(), None, None).unwrap()
        };
        assert!(name == "semantic_only" || RewardSpec::builtin(&name).is_ok(), "{id}: `{name}` is not a built-in");
        let config = settings.spec().unwrap_or_else(|e| panic!("{id}: {e:#}"));
        let mut env = make(&id).unwrap();
        let (_, info) = env.reset(Some(1), &Options::new()).unwrap();
        let action = env.action_space().sample(&mut <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1));
        let step = env.step(&action).unwrap();
        for (when, info) in [("reset", &info), ("step", &step.info)] {
            for q in config.state_quantities() {
                let v = info.get(STATE_KEY).and_then(|s| s.get(q)).and_then(|v| v.as_f64());
                assert!(v.is_some_and(f64::is_finite), "{id} ({name}): no finite state `{q}` on {when}: {info:?}");
            }
        }
        checked.push((id, name));
    }
    // The push reads its reach term at the push point; the other arm tasks keep the cube's.
    let config = |id: &str| checked.iter().find(|(i, _)| i == id).map(|(_, n)| n.as_str());
    assert_eq!(config("ArmPushCube-v0"), Some("manipulation_push"));
    assert_eq!(config("ArmPickCube-v0"), Some("manipulation_vlmrl"));
    assert_eq!(config("Driving-v0"), Some("driving_vlmrl"));
}
