//! Failures as data across the boundary: NativeFailure, the `{ error?, value? }` outcome objects
//! every export resolves to, and the libuv-pool task shape the short nf_tables calls use.

use fastcni_core as fc;
use napi_derive::napi;

/// A failure reported by the native addon, as data.
#[napi(object)]
#[derive(Clone)]
pub struct NativeFailure {
    /// stable class: notFound, exists, netnsGone, invalid, busy, permission, timeout, kernel, internal
    pub kind: String,
    /// the native operation that failed, e.g. "masq add"
    pub op: String,
    pub errno: i32,
    pub message: String,
}

impl From<fc::Failure> for NativeFailure {
    fn from(f: fc::Failure) -> Self {
        NativeFailure { kind: f.kind.as_str().to_string(), op: f.op, errno: f.errno, message: f.message }
    }
}

/// Declares an outcome object `{ error?: NativeFailure, value?: $value }` and its constructor from
/// a core result.
macro_rules! outcome {
    ($doc:literal, $name:ident, $value:ty) => {
        #[doc = $doc]
        #[napi(object)]
        pub struct $name {
            pub error: Option<crate::outcome::NativeFailure>,
            pub value: Option<$value>,
        }
        impl $name {
            #[allow(dead_code)]
            pub(crate) fn from_result<T>(r: fastcni_core::Result<T>, conv: impl FnOnce(T) -> $value) -> Self {
                match r {
                    Ok(v) => $name { error: None, value: Some(conv(v)) },
                    Err(e) => $name { error: Some(e.into()), value: None },
                }
            }
        }
    };
}

/// Declares a task run on the libuv pool whose `compute` turns its input into an outcome; for
/// calls that are short and never wait on the kernel for long (the nf_tables batches).
macro_rules! pool_task {
    ($task:ident, $input:ty, $out:ty, |$i:ident| $body:expr) => {
        pub struct $task($input);
        #[napi]
        impl napi::Task for $task {
            type Output = $out;
            type JsValue = $out;
            fn compute(&mut self) -> napi::Result<$out> {
                let $i = &self.0;
                Ok($body)
            }
            fn resolve(&mut self, _env: napi::Env, out: $out) -> napi::Result<$out> {
                Ok(out)
            }
        }
    };
}

outcome!(
    "Outcome of a call whose value is a flag (masq and spoof-check add/del, lockRelease, linkDel, sysctlSet, netnsDelete).",
    BoolOutcome,
    bool
);
