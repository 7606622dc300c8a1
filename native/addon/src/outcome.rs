//! Failures as data across the boundary: the `{ error?, value? }` outcome objects every export
//! resolves to (the error a fastcni_core::Failure), and the libuv-pool task shape the short
//! nf_tables calls use.

use napi_derive::napi;

/// Declares an outcome object `{ error?: Failure, value?: $value }` and its constructors from a
/// core result.
macro_rules! outcome {
    ($doc:literal, $name:ident, $value:ty) => {
        #[doc = $doc]
        #[napi(object)]
        pub struct $name {
            pub error: Option<fastcni_core::Failure>,
            pub value: Option<$value>,
        }
        #[allow(dead_code)]
        impl $name {
            pub(crate) fn from_result<T>(r: fastcni_core::Result<T>, conv: impl FnOnce(T) -> $value) -> Self {
                match r {
                    Ok(v) => $name { error: None, value: Some(conv(v)) },
                    Err(e) => $name { error: Some(e), value: None },
                }
            }
            pub(crate) fn of(r: fastcni_core::Result<$value>) -> Self {
                Self::from_result(r, |v| v)
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
