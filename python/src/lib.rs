//! `vlmgym._native`: the Rust side of the `vlmgym` Python package. It holds envs and vector
//! envs made from the registry, converts their values to numpy arrays and back, renders
//! Scenes with the CPU rasteriser, and turns the envs' errors into the Python exceptions of
//! `vlmgym.errors` with the same messages. The Gymnasium classes around it are Python
//! (`python/vlmgym/__init__.py`).
//!
//! Kwargs and reset options come in as JSON text (Python's `json.dumps`); infos go out as
//! Python dicts, a vector env's in Gymnasium's layout (numpy arrays with `_key` masks);
//! observations and actions cross as numpy arrays or Python numbers.

use std::sync::Mutex;

use numpy::prelude::*;
use numpy::{AllowTypeChange, PyArray1, PyArrayLikeDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;
use serde_json::Value as Json;
use vlmgym_envs::registry;
use vlmgym_envs::{AutoresetMode, Env as _, EnvError, Options, Space, Value, VecEnv as RustVecEnv, VectorizationMode};
use vlmgym_render::{RasterRenderer, RenderConfig};

/// A Python exception of `vlmgym.errors` (`kind`: its class name) with `message`.
fn raise(py: Python<'_>, kind: &str, message: String) -> PyErr {
    let made =
        py.import("vlmgym.errors").and_then(|m| m.getattr(kind)).and_then(|class| class.call1((message.clone(),)));
    match made {
        Ok(err) => PyErr::from_value(err),
        // Only when the package is not importable (the module used on its own).
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
    }
}

/// The exception class for an env error, by what went wrong.
fn env_err(e: EnvError) -> PyErr {
    let kind = match &e {
        EnvError::UnknownEnv { .. } => "UnknownEnvError",
        EnvError::ResetNeeded => "ResetNeededError",
        EnvError::InvalidAction { .. }
        | EnvError::InvalidArgument { .. }
        | EnvError::SpaceMismatch { .. }
        | EnvError::BadFrames(_) => "InvalidArgumentError",
        _ => "VlmgymError",
    };
    Python::attach(|py| raise(py, kind, e.to_string()))
}

/// `vlmgym.errors.InvalidArgumentError` with `message`.
fn invalid(message: String) -> PyErr {
    Python::attach(|py| raise(py, "InvalidArgumentError", message))
}

/// A JSON value as the Python object `json.loads` would give.
fn json_py(py: Python<'_>, value: &Json) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Json::Null => py.None(),
        Json::Bool(b) => b.into_py_any(py)?,
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into_py_any(py)?,
            (None, Some(f)) => f.into_py_any(py)?,
            _ => n.to_string().into_py_any(py)?,
        },
        Json::String(t) => t.into_py_any(py)?,
        Json::Array(a) => {
            let items = a.iter().map(|v| json_py(py, v)).collect::<PyResult<Vec<_>>>()?;
            pyo3::types::PyList::new(py, items)?.into_py_any(py)?
        }
        Json::Object(m) => info_py(py, m)?.into_py_any(py)?,
    })
}

/// An info as a Python dict.
fn info_py<'py>(py: Python<'py>, info: &vlmgym_envs::Info) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in info {
        d.set_item(k, json_py(py, v)?)?;
    }
    Ok(d)
}

/// The infos of a batch in Gymnasium's vector layout (`VectorEnv._add_info`): for each key,
/// an array over the envs and a boolean `_key` mask of the envs that have it; nested dicts
/// recursively; numbers as int64 / float64 / bool arrays (by the first env's value, as
/// Gymnasium does), anything else in an object array.
fn vector_infos_py<'py>(py: Python<'py>, infos: &[Option<&vlmgym_envs::Info>]) -> PyResult<Bound<'py, PyDict>> {
    let n = infos.len();
    let mut keys: Vec<&str> = Vec::new();
    for info in infos.iter().flatten() {
        for k in info.keys() {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let out = PyDict::new(py);
    for key in keys {
        let values: Vec<Option<&Json>> = infos.iter().map(|i| i.and_then(|i| i.get(key))).collect();
        let mask: Vec<bool> = values.iter().map(Option::is_some).collect();
        let first = values.iter().flatten().next().copied().expect("a key comes from some env");
        let array: Bound<'py, PyAny> = match first {
            Json::Object(_) => {
                let subs: Vec<Option<&vlmgym_envs::Info>> =
                    values.iter().map(|v| v.and_then(Json::as_object)).collect();
                vector_infos_py(py, &subs)?.into_any()
            }
            Json::Bool(_) => {
                let v: Vec<bool> = values.iter().map(|v| v.and_then(Json::as_bool).unwrap_or(false)).collect();
                PyArray1::from_vec(py, v).into_any()
            }
            Json::Number(x) if x.is_i64() && values.iter().flatten().all(|v| v.is_i64()) => {
                let v: Vec<i64> = values.iter().map(|v| v.and_then(Json::as_i64).unwrap_or(0)).collect();
                PyArray1::from_vec(py, v).into_any()
            }
            Json::Number(_) if values.iter().flatten().all(|v| v.is_number()) => {
                let v: Vec<f64> = values.iter().map(|v| v.and_then(Json::as_f64).unwrap_or(0.0)).collect();
                PyArray1::from_vec(py, v).into_any()
            }
            _ => {
                let items = values
                    .iter()
                    .map(|v| match v {
                        Some(v) => json_py(py, v),
                        None => Ok(py.None()),
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                let list = pyo3::types::PyList::new(py, items)?;
                // An object array, so elements that are lists stay elements.
                let np = py.import("numpy")?;
                let arr = np.call_method1("empty", (n, "object"))?;
                for (i, item) in list.iter().enumerate() {
                    arr.set_item(i, item)?;
                }
                arr
            }
        };
        out.set_item(key, array)?;
        out.set_item(format!("_{key}"), PyArray1::from_vec(py, mask))?;
    }
    Ok(out)
}

/// A JSON object from Python's `json.dumps` text (kwargs, options).
fn json_object(text: &str, what: &str) -> PyResult<Options> {
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(invalid(format!("{what} must be a dict, got {other}"))),
        Err(e) => Err(invalid(format!("{what} is not valid JSON: {e}"))),
    }
}

/// A space as a JSON description the Python side turns into a `gymnasium.spaces` space.
fn space_json(space: &Space) -> Json {
    match space {
        Space::Box(b) => serde_json::json!({
            "kind": "box",
            "shape": b.shape(),
            "low": b.low().iter().map(|x| f32_json(*x)).collect::<Vec<_>>(),
            "high": b.high().iter().map(|x| f32_json(*x)).collect::<Vec<_>>(),
        }),
        Space::Discrete(d) => serde_json::json!({ "kind": "discrete", "n": d.n, "start": d.start }),
        Space::MultiDiscrete(m) => serde_json::json!({ "kind": "multi_discrete", "nvec": m.nvec }),
        Space::Dict(d) => serde_json::json!({
            "kind": "dict",
            "spaces": d.spaces.iter().map(|(k, s)| (k.clone(), space_json(s))).collect::<serde_json::Map<_, _>>(),
        }),
    }
}

/// Infinite bounds as the strings numpy parses (`np.asarray(["inf"], dtype=float32)`).
fn f32_json(x: f32) -> Json {
    if x.is_finite() {
        Json::from(x)
    } else if x > 0.0 {
        Json::from("inf")
    } else {
        Json::from("-inf")
    }
}

/// A space description as a Python dict (through `json.loads`).
fn space_py(py: Python<'_>, space: &Space) -> PyResult<Py<PyAny>> {
    let text = space_json(space).to_string();
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// An env value as Python: Box -> float32 array of the space's shape, Discrete -> int,
/// MultiDiscrete -> int64 array, Dict -> dict.
fn value_py(py: Python<'_>, value: Value, space: &Space) -> PyResult<Py<PyAny>> {
    match (value, space) {
        (Value::Box(v), Space::Box(b)) => PyArray1::from_vec(py, v).reshape(b.shape().to_vec())?.into_py_any(py),
        (Value::Box(v), _) => PyArray1::from_vec(py, v).into_py_any(py),
        (Value::Discrete(x), _) => x.into_py_any(py),
        (Value::MultiDiscrete(v), _) => PyArray1::from_vec(py, v).into_py_any(py),
        (Value::Dict(m), Space::Dict(spaces)) => {
            let d = PyDict::new(py);
            for (k, v) in m {
                let sub = spaces.spaces.get(&k).ok_or_else(|| invalid(format!("`{k}` is not a key of {space}")))?;
                d.set_item(k, value_py(py, v, sub)?)?;
            }
            d.into_py_any(py)
        }
        (Value::Dict(_), other) => Err(invalid(format!("a Dict value does not fit {other}"))),
    }
}

/// The numbers of a Python number, list or numpy array (any numeric dtype, cast to `T`),
/// flattened row-major, and the array's shape; an action for `space`, so `what` (e.g.
/// "ints") names what was expected in the error.
fn numbers<'py, T>(obj: &Bound<'py, PyAny>, space: &Space, what: &str) -> PyResult<(Vec<T>, Vec<usize>)>
where
    T: numpy::Element + Copy + for<'a> FromPyObject<'a, 'py> + 'py,
{
    let a: PyArrayLikeDyn<'_, T, AllowTypeChange> =
        obj.extract().map_err(|e| invalid(format!("invalid action for {space}: expected {what}, got {obj} ({e})")))?;
    Ok((a.as_array().iter().copied().collect(), a.shape().to_vec()))
}

/// A Python action (number, list, numpy array; dict for Dict spaces) as a value of `space`.
/// Shape and range are checked by the env, which names the problem.
fn action_value(obj: &Bound<'_, PyAny>, space: &Space) -> PyResult<Value> {
    match space {
        Space::Box(_) => Ok(Value::Box(numbers(obj, space, "numbers")?.0)),
        Space::Discrete(_) => {
            let x =
                integer(obj).map_err(|_| invalid(format!("invalid action for {space}: expected an int, got {obj}")))?;
            Ok(Value::Discrete(x))
        }
        Space::MultiDiscrete(_) => Ok(Value::MultiDiscrete(numbers(obj, space, "ints")?.0)),
        Space::Dict(d) => {
            let dict =
                obj.cast::<PyDict>().map_err(|_| invalid(format!("invalid action for {space}: expected a dict")))?;
            let mut out = std::collections::BTreeMap::new();
            for (k, s) in &d.spaces {
                let v = dict
                    .get_item(k)?
                    .ok_or_else(|| invalid(format!("invalid action for {space}: missing key `{k}`")))?;
                out.insert(k.clone(), action_value(&v, s)?);
            }
            Ok(Value::Dict(out))
        }
    }
}

/// An int from a Python int, numpy integer or 0-d / one-element integer array (not a float).
fn integer(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(x) = obj.extract::<i64>() {
        return Ok(x);
    }
    let a: PyArrayLikeDyn<'_, i64> = obj.extract()?;
    match a.as_array().iter().collect::<Vec<_>>()[..] {
        [x] => Ok(*x),
        _ => Err(pyo3::exceptions::PyValueError::new_err("not one integer")),
    }
}

/// The rasteriser of an env's `render`, kept while size and camera stay the same.
struct Renderer {
    key: (u32, u32, Option<String>),
    raster: RasterRenderer,
}

/// One env of the registry (`vlmgym.VlmgymEnv` wraps it).
#[pyclass(module = "vlmgym._native")]
struct Env {
    id: String,
    env: Mutex<Box<dyn vlmgym_envs::Env>>,
    observation_space: Space,
    action_space: Space,
    renderer: Mutex<Option<Renderer>>,
    /// The info of the last reset or step, as the env returned it (a language reward reads
    /// its state quantities exactly, without a trip through Python).
    last_info: Mutex<vlmgym_envs::Info>,
}

#[pymethods]
impl Env {
    /// `make_with(env_id, kwargs)`; kwargs as JSON text.
    #[new]
    fn new(env_id: &str, kwargs_json: &str) -> PyResult<Self> {
        let kwargs = json_object(kwargs_json, "kwargs")?;
        let env = registry::make_with(env_id, &kwargs).map_err(env_err)?;
        Ok(Env {
            id: env_id.to_string(),
            observation_space: env.observation_space().clone(),
            action_space: env.action_space().clone(),
            env: Mutex::new(env),
            renderer: Mutex::new(None),
            last_info: Mutex::new(vlmgym_envs::Info::new()),
        })
    }

    /// The observation space's description.
    fn observation_space(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        space_py(py, &self.observation_space)
    }

    /// The action space's description.
    fn action_space(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        space_py(py, &self.action_space)
    }

    /// Steps per second of simulated time (Gymnasium's `render_fps`), if the env has one.
    fn render_fps(&self) -> PyResult<Option<f64>> {
        Ok(registry::spec(&self.id).map_err(env_err)?.metadata.render_fps)
    }

    /// `(obs, info)`.
    #[pyo3(signature = (seed=None, options_json="{}"))]
    fn reset<'py>(
        &self,
        py: Python<'py>,
        seed: Option<u64>,
        options_json: &str,
    ) -> PyResult<(Py<PyAny>, Bound<'py, PyDict>)> {
        let options = json_object(options_json, "options")?;
        let (obs, info) = py.detach(|| self.env.lock().expect("env lock").reset(seed, &options)).map_err(env_err)?;
        let dict = info_py(py, &info)?;
        *self.last_info.lock().expect("info lock") = info;
        Ok((value_py(py, obs, &self.observation_space)?, dict))
    }

    /// `(obs, reward, terminated, truncated, info)`.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<(Py<PyAny>, f64, bool, bool, Bound<'py, PyDict>)> {
        let action = action_value(action, &self.action_space)?;
        let s = py.detach(|| self.env.lock().expect("env lock").step(&action)).map_err(env_err)?;
        let dict = info_py(py, &s.info)?;
        *self.last_info.lock().expect("info lock") = s.info;
        Ok((value_py(py, s.obs, &self.observation_space)?, s.reward, s.terminated, s.truncated, dict))
    }

    /// The current state drawn by the CPU rasteriser, `(height, width, 3)` uint8, from
    /// `camera` (default: the env's reward camera, else the Scene's first).
    #[pyo3(signature = (width, height, camera=None))]
    fn render<'py>(
        &self,
        py: Python<'py>,
        width: u32,
        height: u32,
        camera: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let camera = match camera {
            Some(c) => Some(c),
            None => registry::spec(&self.id).map_err(env_err)?.metadata.reward_camera,
        };
        let frame = py.detach(|| -> Result<Vec<u8>, String> {
            let scene = self
                .env
                .lock()
                .expect("env lock")
                .scene()
                .ok_or_else(|| format!("{} has no Scene to render (call reset() first)", self.id))?;
            let mut slot = self.renderer.lock().expect("renderer lock");
            let key = (width, height, camera.clone());
            if slot.as_ref().is_none_or(|r| r.key != key) {
                let config = RenderConfig { width, height, camera: camera.clone() };
                let raster = RasterRenderer::new(1, config).map_err(|e| format!("{e:#}"))?;
                *slot = Some(Renderer { key, raster });
            }
            let r = slot.as_mut().expect("renderer");
            let frames = r.raster.render(std::slice::from_ref(&scene)).map_err(|e| format!("{e:#}"))?;
            Ok(frames.as_slice().to_vec())
        });
        let frame = frame.map_err(invalid)?;
        Ok(PyArray1::from_vec(py, frame).reshape([height as usize, width as usize, 3])?.into_any())
    }

    /// The true facts of the current state: `(fact key, first phrasing)` pairs.
    fn captions(&self) -> Vec<(String, String)> {
        let captions = self.env.lock().expect("env lock").captions();
        captions.into_iter().map(|c| (c.fact, c.phrasings.into_iter().next().unwrap_or_default())).collect()
    }

    /// Releases the env's resources.
    fn close(&self) {
        self.env.lock().expect("env lock").close();
    }
}

/// A batch of envs stepped in Rust (`vlmgym.VlmgymVectorEnv` wraps it).
#[pyclass(module = "vlmgym._native")]
struct VecEnv {
    env: Mutex<RustVecEnv>,
    /// Each env's info of the last step.
    last_infos: Mutex<Vec<vlmgym_envs::Info>>,
    observation_space: Space,
    action_space: Space,
    num_envs: usize,
}

impl VecEnv {
    /// The `(num_envs, *shape)` float32 observation batch.
    fn obs_batch<'py>(&self, py: Python<'py>, obs: Vec<f32>) -> PyResult<Bound<'py, PyAny>> {
        self.obs_array(py, obs, Some(self.num_envs))
    }

    /// Observations as a float32 array of the space's shape, with a leading batch axis of
    /// `batch` when given.
    fn obs_array<'py>(&self, py: Python<'py>, obs: Vec<f32>, batch: Option<usize>) -> PyResult<Bound<'py, PyAny>> {
        let mut shape: Vec<usize> = batch.into_iter().collect();
        match &self.observation_space {
            Space::Box(b) => shape.extend_from_slice(b.shape()),
            s => shape.push(s.flatdim()),
        }
        Ok(PyArray1::from_vec(py, obs).reshape(shape)?.into_any())
    }

    /// One action value per env from the batched actions.
    fn actions(&self, actions: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
        let n = self.num_envs;
        let space = &self.action_space;
        let wrong = |got: usize| {
            invalid(format!("invalid action for {space}: expected a batch of {n} actions (one per env), got {got}"))
        };
        match space {
            Space::Box(b) => {
                let (flat, shape) = numbers::<f32>(actions, space, "numbers")?;
                if shape.first() != Some(&n) || flat.len() != n * b.len() {
                    return Err(invalid(format!(
                        "invalid action for {space}: expected a batch of shape ({n}, {}), got {shape:?}",
                        b.shape().iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "),
                    )));
                }
                Ok(flat.chunks(b.len()).map(|c| Value::Box(c.to_vec())).collect())
            }
            Space::Discrete(_) => {
                let (flat, shape) = numbers::<i64>(actions, space, "ints")?;
                if shape.len() != 1 || flat.len() != n {
                    return Err(wrong(flat.len()));
                }
                Ok(flat.into_iter().map(Value::Discrete).collect())
            }
            Space::MultiDiscrete(m) => {
                let (flat, shape) = numbers::<i64>(actions, space, "ints")?;
                if shape.first() != Some(&n) || flat.len() != n * m.nvec.len() {
                    return Err(wrong(shape.first().copied().unwrap_or(0)));
                }
                Ok(flat.chunks(m.nvec.len()).map(|c| Value::MultiDiscrete(c.to_vec())).collect())
            }
            Space::Dict(_) => Err(invalid(format!("vector envs with Dict actions are not supported ({space})"))),
        }
    }
}

#[pymethods]
impl VecEnv {
    /// `make_vec(env_id, num_envs, kwargs)`; `mode` "sync" or "threaded", `autoreset`
    /// Gymnasium's AutoresetMode value ("NextStep", "SameStep", "Disabled").
    #[new]
    fn new(env_id: &str, num_envs: usize, kwargs_json: &str, mode: &str, autoreset: &str) -> PyResult<Self> {
        let kwargs = json_object(kwargs_json, "kwargs")?;
        let mode = match mode {
            "sync" => VectorizationMode::Sync,
            "threaded" => VectorizationMode::Threaded { threads: 0 },
            other => {
                return Err(invalid(format!(
                    "vectorization_mode must be 'sync', 'threaded' or 'async' (threaded), got '{other}'"
                )))
            }
        };
        let autoreset = match autoreset {
            "NextStep" => AutoresetMode::NextStep,
            "SameStep" => AutoresetMode::SameStep,
            "Disabled" => AutoresetMode::Disabled,
            other => return Err(invalid(format!("unknown autoreset mode '{other}'"))),
        };
        let env =
            vlmgym_envs::make_vec(env_id, num_envs, &kwargs, mode).map_err(env_err)?.with_autoreset_mode(autoreset);
        Ok(VecEnv {
            observation_space: env.single_observation_space().clone(),
            action_space: env.single_action_space().clone(),
            num_envs,
            env: Mutex::new(env),
            last_infos: Mutex::new(Vec::new()),
        })
    }

    /// One env's observation space's description.
    fn observation_space(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        space_py(py, &self.observation_space)
    }

    /// One env's action space's description.
    fn action_space(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        space_py(py, &self.action_space)
    }

    /// Whether the batch runs on worker threads now (false: inline on the caller's).
    fn parallel(&self) -> bool {
        self.env.lock().expect("env lock").schedule() == vlmgym_envs::Schedule::Parallel
    }

    /// `(obs, infos)` (infos in Gymnasium's vector layout); env `i` seeded `seed + i`; with
    /// `mask`, only those envs.
    #[pyo3(signature = (seed=None, options_json="{}", mask=None))]
    fn reset<'py>(
        &self,
        py: Python<'py>,
        seed: Option<u64>,
        options_json: &str,
        mask: Option<Vec<bool>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
        let options = json_object(options_json, "options")?;
        let mask = mask.unwrap_or_else(|| vec![true; self.num_envs]);
        let (obs, infos) =
            py.detach(|| self.env.lock().expect("env lock").reset_envs(&mask, seed, &options)).map_err(env_err)?;
        let refs: Vec<Option<&vlmgym_envs::Info>> = infos.iter().map(Some).collect();
        Ok((self.obs_batch(py, obs)?, vector_infos_py(py, &refs)?))
    }

    /// `(obs, rewards, terminations, truncations, infos)`, infos in Gymnasium's vector
    /// layout; in same-step mode with `final_obs` / `final_info` object arrays (and their
    /// masks) for the envs whose episode ended.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        actions: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyDict>)>
    {
        let actions = self.actions(actions)?;
        let s = py.detach(|| self.env.lock().expect("env lock").step(&actions)).map_err(env_err)?;
        let refs: Vec<Option<&vlmgym_envs::Info>> = s.infos.iter().map(Some).collect();
        let infos = vector_infos_py(py, &refs)?;
        if s.final_obs.iter().any(Option::is_some) {
            let np = py.import("numpy")?;
            let (final_obs, final_info) = (
                np.call_method1("empty", (self.num_envs, "object"))?,
                np.call_method1("empty", (self.num_envs, "object"))?,
            );
            for (i, (o, info)) in s.final_obs.iter().zip(&s.final_info).enumerate() {
                if let (Some(o), Some(info)) = (o, info) {
                    final_obs.set_item(i, self.obs_array(py, o.clone(), None)?)?;
                    final_info.set_item(i, info_py(py, info)?)?;
                }
            }
            let ended: Vec<bool> = s.final_obs.iter().map(Option::is_some).collect();
            infos.set_item("final_obs", final_obs)?;
            infos.set_item("_final_obs", PyArray1::from_vec(py, ended.clone()))?;
            infos.set_item("final_info", final_info)?;
            infos.set_item("_final_info", PyArray1::from_vec(py, ended))?;
        }
        *self.last_infos.lock().expect("info lock") = s.infos;
        Ok((
            self.obs_batch(py, s.obs)?,
            PyArray1::from_vec(py, s.rewards).into_any(),
            PyArray1::from_vec(py, s.terminations).into_any(),
            PyArray1::from_vec(py, s.truncations).into_any(),
            infos,
        ))
    }

    /// Closes every env.
    fn close(&self) {
        self.env.lock().expect("env lock").close();
    }
}

/// Whether env `env_id` (made with `kwargs_json`) has a Scene to draw: made and reset
/// once (seed 0) per id and kwargs, then remembered.
#[pyfunction]
fn drawable(py: Python<'_>, env_id: &str, kwargs_json: &str) -> PyResult<bool> {
    static KNOWN: Mutex<Vec<(String, String, bool)>> = Mutex::new(Vec::new());
    if let Some(k) = KNOWN.lock().expect("lock").iter().find(|k| k.0 == env_id && k.1 == kwargs_json) {
        return Ok(k.2);
    }
    let kwargs = json_object(kwargs_json, "kwargs")?;
    let has_scene = py
        .detach(|| {
            let mut env = registry::make_with(env_id, &kwargs)?;
            env.reset(Some(0), &Options::new())?;
            Ok::<_, EnvError>(env.scene().is_some())
        })
        .map_err(env_err)?;
    KNOWN.lock().expect("lock").push((env_id.to_string(), kwargs_json.to_string(), has_scene));
    Ok(has_scene)
}

/// The synthesized language reward of one env or a batch (`vlmgym.LanguageReward` wraps
/// it): each step's states drawn by the CPU rasteriser, scored as one batch by the reward
/// model, and synthesized per env, exactly as `vlmgym rollout --goal ...` does. Its reward
/// model and renderer stay on the thread that made it (`unsendable`), and it scores with the
/// GIL held.
#[pyclass(module = "vlmgym._native", unsendable)]
struct LanguageReward {
    live: vlmgym::language_reward::LiveReward,
    num_envs: usize,
}

/// `vlmgym.errors.InvalidArgumentError` for a bad reward setting, naming it.
fn reward_err(e: anyhow::Error) -> PyErr {
    match e.downcast::<EnvError>() {
        Ok(e) => env_err(e),
        Err(e) => invalid(format!("{e:#}")),
    }
}

#[pymethods]
impl LanguageReward {
    /// `settings_json`: kind ("clg", "vlmrm", "semantic"), goal, negative, baseline, alpha,
    /// window, offset, reward_config, tower, camera, text_head, no_text_head (any may be null but the
    /// goal).
    #[new]
    fn new(env_id: &str, kwargs_json: &str, num_envs: usize, settings_json: &str) -> PyResult<Self> {
        use vlmgym::language_reward::{RewardKind, RewardSettings};
        let kwargs = json_object(kwargs_json, "kwargs")?;
        let s = json_object(settings_json, "reward settings")?;
        let text = |k: &str| s.get(k).and_then(Json::as_str).map(str::to_string);
        let number = |k: &str, default: f64| s.get(k).and_then(Json::as_f64).unwrap_or(default);
        let kind = match text("kind").as_deref() {
            Some("clg") => RewardKind::Clg,
            Some("vlmrm") => RewardKind::Vlmrm,
            Some("semantic") => RewardKind::Semantic,
            Some(other) => return Err(invalid(format!("kind must be 'clg', 'vlmrm' or 'semantic', got '{other}'"))),
            None => match (text("negative"), text("baseline")) {
                (Some(_), _) => RewardKind::Clg,
                (None, Some(_)) => RewardKind::Vlmrm,
                (None, None) => RewardKind::Semantic,
            },
        };
        let settings = RewardSettings {
            offset: number("offset", 0.0),
            camera: text("camera"),
            text_head: text("text_head").map(Into::into),
            no_text_head: s.get("no_text_head").and_then(Json::as_bool).unwrap_or(false),
            ..RewardSettings::new(
                env_id,
                kind,
                text("goal"),
                text("negative"),
                text("baseline"),
                number("alpha", 0.5),
                number("window", 0.03),
                text("reward_config"),
                text("tower").map(Into::into),
            )
            .map_err(reward_err)?
        };
        let live = vlmgym::language_reward::LiveReward::batch(
            &settings,
            env_id,
            &kwargs,
            num_envs,
            &vlmgym_agents::Device::Cpu,
        )
        .map_err(reward_err)?;
        Ok(LanguageReward { live, num_envs })
    }

    /// The names of the terms `score` reports, `semantic_score` first.
    fn term_names(&self) -> Vec<String> {
        self.live.term_names()
    }

    /// Starts a new episode of env `env` (clears its windows and terminal rules).
    fn start_episode(&mut self, env: usize) -> PyResult<()> {
        self.live.start_episode_of(env).map_err(reward_err)
    }

    /// `(reward, term values)` of the single env's current state (its last step's info).
    fn score_env(&mut self, env: PyRef<'_, Env>, terminated: bool, truncated: bool) -> PyResult<(f64, Vec<f64>)> {
        if self.num_envs != 1 {
            return Err(invalid(format!("this language reward scores {} envs; pass the vector env", self.num_envs)));
        }
        let scene = env.env.lock().expect("env lock").scene();
        let scenes = vec![scene.ok_or_else(|| invalid(format!("{} has no Scene to score", env.id)))?];
        let info = env.last_info.lock().expect("info lock");
        let mut out = self.score(scenes, std::slice::from_ref(&*info), &[terminated], &[truncated])?;
        Ok(out.remove(0))
    }

    /// `(reward, term values)` of every env of a vector env (with its last step's infos),
    /// as one batch.
    fn score_vec(
        &mut self,
        env: PyRef<'_, VecEnv>,
        terminated: Vec<bool>,
        truncated: Vec<bool>,
    ) -> PyResult<Vec<(f64, Vec<f64>)>> {
        let scenes = env.env.lock().expect("env lock").scenes();
        let scenes = scenes
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.ok_or_else(|| invalid(format!("env {i} has no Scene to score"))))
            .collect::<PyResult<Vec<_>>>()?;
        let infos = env.last_infos.lock().expect("info lock");
        if infos.len() != self.num_envs {
            return Err(invalid("score a vector env after a step".to_string()));
        }
        self.score(scenes, &infos, &terminated, &truncated)
    }
}

impl LanguageReward {
    fn score(
        &mut self,
        scenes: Vec<vlmgym_envs::Scene>,
        infos: &[vlmgym_envs::Info],
        terminated: &[bool],
        truncated: &[bool],
    ) -> PyResult<Vec<(f64, Vec<f64>)>> {
        let out = self.live.score_batch(scenes, infos, terminated, truncated).map_err(reward_err)?;
        Ok(out.into_iter().map(|(r, terms)| (r, terms.into_iter().map(|(_, v)| v).collect())).collect())
    }
}

/// Every registered id, sorted.
#[pyfunction]
fn env_ids() -> Vec<String> {
    registry::ids()
}

/// A registered env's spec as JSON text: max_episode_steps, reward_threshold, description,
/// render_fps, reward_camera. An unknown id raises `UnknownEnvError` naming close matches.
#[pyfunction]
fn env_spec(env_id: &str) -> PyResult<String> {
    let spec = registry::spec(env_id).map_err(env_err)?;
    Ok(serde_json::json!({
        "id": spec.id,
        "max_episode_steps": spec.max_episode_steps,
        "reward_threshold": spec.reward_threshold,
        "description": spec.description,
        "render_fps": spec.metadata.render_fps,
        "reward_camera": spec.metadata.reward_camera,
    })
    .to_string())
}

/// The module.
#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Env>()?;
    m.add_class::<VecEnv>()?;
    m.add_class::<LanguageReward>()?;
    m.add_function(wrap_pyfunction!(env_ids, m)?)?;
    m.add_function(wrap_pyfunction!(env_spec, m)?)?;
    m.add_function(wrap_pyfunction!(drawable, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
