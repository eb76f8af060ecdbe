//! Runs the scripted expert of every arm task over seeds and prints its success rate and
//! the env's speed: `cargo run --release -p vlmgym-envs --example arm_expert -- [EPISODES]`.

use std::time::Instant;

use vlmgym_envs::manipulation::{Arm, ArmConfig, ControlMode, RewardMode, Task};
use vlmgym_envs::{Env, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let episodes: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(50);
    for task in [Task::Reach, Task::PushCube, Task::PickCube] {
        for control_mode in [ControlMode::EeDeltaPos, ControlMode::JointDeltaPos] {
            let config = ArmConfig {
                task,
                control_mode,
                reward_mode: RewardMode::Dense,
                qpos_noise: 0.02,
                terminate_on_success: true,
            };
            let mut env = Arm::new(config)?;
            let (mut wins, mut steps, mut ret) = (0, 0u64, 0.0);
            let start = Instant::now();
            for seed in 0..episodes {
                env.reset(Some(seed), &Options::new())?;
                for _ in 0..50 {
                    let a = env.expert_action()?;
                    let s = env.step(&a)?;
                    steps += 1;
                    ret += s.reward;
                    if s.terminated {
                        wins += 1;
                        break;
                    }
                }
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{task:?} {control_mode:?}: success {wins}/{episodes}, mean return {:.2}, {:.0} steps/s",
                ret / episodes as f64,
                steps as f64 / secs
            );
        }
    }
    Ok(())
}
