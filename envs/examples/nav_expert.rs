//! The navigation planner's expert (`Nav::expert_action`) over many seeds: success rate,
//! SPL and episode length per layout, within the registered step limits, and the first
//! failures' details.
//!
//! ```sh
//! cargo run --release -p vlmgym-envs --example nav_expert -- 100
//! ```

use vlmgym_envs::navigation::{Nav, NavConfig, NAV_GOTO_ID, NAV_ROOMS_ID};
use vlmgym_envs::registry::spec;
use vlmgym_envs::{make, Env, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let episodes: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(100);
    for (id, layout, continuous) in [
        (NAV_GOTO_ID, "one_room", false),
        (NAV_GOTO_ID, "two_rooms", false),
        (NAV_GOTO_ID, "four_rooms", false),
        (NAV_GOTO_ID, "maze", false),
        (NAV_GOTO_ID, "one_room", true),
        (NAV_ROOMS_ID, "four_rooms", false),
    ] {
        let mut kw = Options::new();
        kw.insert("layout".into(), layout.into());
        kw.insert("continuous".into(), continuous.into());
        // The registered env's own settings, with these kwargs on top.
        make(id)?;
        let base = if id == NAV_ROOMS_ID { NavConfig::rooms() } else { NavConfig::goto() };
        let mut env = Nav::new(NavConfig::from_kwargs(base, &kw)?);
        let limit = spec(id)?.max_episode_steps.unwrap_or(u64::MAX);
        let (mut wins, mut spl, mut steps, mut shown) = (0u64, 0.0, 0u64, 0);
        for seed in 0..episodes {
            env.reset(Some(5000 + seed), &Options::new())?;
            for n in 1..=limit {
                let a = env.expert_action().expect("reset");
                let s = env.step(&a)?;
                if s.done() || n == limit {
                    steps += n;
                    if s.info["success"] == true {
                        wins += 1;
                        spl += s.info["spl"].as_f64().unwrap_or(0.0);
                    } else if shown < 3 {
                        shown += 1;
                        println!("  failed: seed {}, {n} steps, {:?}", 5000 + seed, s.info);
                    }
                    break;
                }
            }
        }
        let e = episodes as f64;
        println!(
            "{id} layout={layout} continuous={continuous}: success {:.3}, SPL {:.3}, mean length {:.1}",
            wins as f64 / e,
            spl / e,
            steps as f64 / e
        );
    }
    Ok(())
}
