//! vlmgym-envs: the Gymnasium-style core of vlmgym and its environments.
//!
//! * [`spaces`]: `Box`, `Discrete`, `MultiDiscrete`, `Dict` and their [`Value`]s.
//! * [`Env`]: `reset(seed, options) -> (obs, info)`,
//!   `step(action) -> Step { obs, reward, terminated, truncated, info }`.
//! * [`registry`]: [`make`]`("CartPole-v1")` with the registered time limit and threshold.
//! * [`wrappers`]: TimeLimit, RecordEpisodeStatistics, NormalizeObservation,
//!   NormalizeReward, ClipAction, RescaleAction, FrameStack, TransformReward.
//! * [`vector`]: sync and threaded [`VecEnv`]s with Gymnasium's autoreset modes.
//! * [`scene`]: what an env looks like ([`Scene`]) and what is true of it ([`Caption`]).
//! * [`checker`]: [`check_env`], like `gymnasium.utils.env_checker.check_env`.
//! * [`classic`]: CartPole, MountainCar(Continuous), Pendulum and Acrobot with Gymnasium's
//!   dynamics.
//! * [`driving`]: `Driving-v0` / `Driving-Discrete-v0`, a rapier ray-cast car on generated
//!   roads with IDM traffic, VLM-RL's reward and metrics, captions and scenes.
//! * [`manipulation`]: `ArmReach-v0`, `ArmPushCube-v0`, `ArmPickCube-v0`: the Franka Panda
//!   (URDF, rapier multibody) with ManiSkill3's task semantics, controllers and rewards.
//! * [`locomotion`]: `Ant-v0`, `HalfCheetah-v0`, `Hopper-v0`, `Walker2d-v0`, `Humanoid-v0`:
//!   Gymnasium's MuJoCo bodies (MJCF, rapier multibody) with Gymnasium v5's terms.
//! * [`navigation`]: `NavGoTo-v0`, `NavRooms-v0`: a round robot in generated rooms told to
//!   go to a named object (ObjectNav's stop-within-1-m success, SPL), with an ego camera.
//!
//! ```
//! use vlmgym_envs::{make, Options, Value};
//! let mut env = make("CartPole-v1").unwrap();
//! let (obs, _info) = env.reset(Some(42), &Options::new()).unwrap();
//! assert_eq!(obs.as_box().unwrap().len(), 4);
//! let step = env.step(&Value::Discrete(1)).unwrap();
//! assert_eq!(step.reward, 1.0);
//! ```

pub mod checker;
pub mod classic;
pub mod driving;
pub mod env;
pub mod error;
pub mod frames;
pub mod link_scene;
pub mod locomotion;
pub mod manipulation;
pub mod metadata;
pub mod navigation;
pub mod registry;
pub mod scene;
pub mod spaces;
pub mod vector;
mod workers;
pub mod wrappers;

pub use checker::check_env;
pub use env::{Env, EnvRng, Info, Options, Step};
pub use error::{EnvError, Result};
pub use frames::Frames;
pub use metadata::{EnvMetadata, KeyMap, Keys, Landscape, ResetPlan, StateSampler};
pub use registry::{make, make_with, register, EnvSpec};
pub use scene::{Camera, Caption, Material, Points, Pose, Scene, SceneObject, Shape};
pub use spaces::{BoxSpace, DictSpace, Discrete, MultiDiscrete, Space, Value};
pub use vector::{make_vec, AutoresetMode, Schedule, VecEnv, VecStep, VectorEnv, VectorizationMode};
