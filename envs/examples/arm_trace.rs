//! Prints one expert episode step by step:
//! `--example arm_trace -- [reach|push|pick] [SEED] [joint]` (default: push, seed 0, TCP
//! control; `joint` uses joint control).
use vlmgym_envs::manipulation::{Arm, ArmConfig, ControlMode, RewardMode, Task};
use vlmgym_envs::{Env, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let task = match args.get(1).map(String::as_str).unwrap_or("push") {
        "reach" => Task::Reach,
        "push" => Task::PushCube,
        "pick" => Task::PickCube,
        other => return Err(format!("unknown task `{other}`: reach, push or pick").into()),
    };
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let control_mode =
        if args.get(3).is_some_and(|a| a == "joint") { ControlMode::JointDeltaPos } else { ControlMode::EeDeltaPos };
    let mut env = Arm::new(ArmConfig {
        task,
        control_mode,
        reward_mode: RewardMode::Dense,
        qpos_noise: 0.02,
        terminate_on_success: true,
    })?;
    env.reset(Some(seed), &Options::new())?;
    for t in 0..50 {
        let a = env.expert_action()?;
        let s = env.step(&a)?;
        let st = env.state().unwrap();
        let f = |v: [f32; 3]| format!("[{:.3} {:.3} {:.3}]", v[0], v[1], v[2]);
        println!(
            "{t:2} a {:?} tcp {} cube {} goal {} grasp {} r {:.2}",
            a.as_box().unwrap().iter().map(|x| (x * 100.0).round() / 100.0).collect::<Vec<_>>(),
            f(st.tcp),
            f(st.cube),
            f(st.goal),
            st.grasped,
            s.reward
        );
        if s.terminated {
            println!("success");
            break;
        }
    }
    Ok(())
}
