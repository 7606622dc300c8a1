//! With the `napi` feature: lets the napi CLI rebuild this crate when it collects type definitions,
//! so that the types defined here reach native/addon/index.d.ts.
fn main() {
    #[cfg(feature = "napi")]
    napi_build::setup();
}
