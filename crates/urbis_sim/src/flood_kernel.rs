//! The momentum update of the flood solver on a run of faces, written
//! branch-free over slices (no bounds checks, selects instead of early
//! returns) so that LLVM vectorizes it. A face with a NODATA cell or a flow
//! depth at or below `h_min` gets `q = 0`.
//!
//! The friction term needs `h_f^(−7/3)`; it is computed in f32 (a bit-level
//! guess and two Newton steps, relative error below 1e-4 after the 7th
//! power), thousands of times inside the uncertainty of Manning's n (10–30 %),
//! and cheap (8 lanes). Everything else is f64,
//! so still water over an uneven bed stays still (its numerator is exactly
//! 0) and mass stays exact (the limiter and continuity are untouched).

/// Constants of one step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub g_dt: f64,
    pub inv_dx: f64,
    pub h_min: f64,
    pub theta: f64,
    /// Froude cap times √g.
    pub froude_sqrt_g: f64,
}

/// `x^(−1/3)` in f32 for a positive normal x: a bit-level guess (3.5 %;
/// the constant minimises the error after the two Newton steps) and two
/// Newton steps: relative error below 1.5e-5, so `h^(−7/3)` is within 1e-4.
#[inline(always)]
fn inv_cbrt_f32(x: f32) -> f32 {
    let mut r = f32::from_bits(0x54A2_1E0A_u32.wrapping_sub(x.to_bits() / 3));
    for _ in 0..2 {
        r = r * (4.0 - x * r * r * r) * (1.0 / 3.0);
    }
    r
}

/// `1/√x` for a positive normal x: the classic bit-level guess (3.4 %) and
/// two Newton steps, relative error below 1e-5; vectorizes where `sqrt`
/// and a division would not be cheap.
#[inline(always)]
fn inv_sqrt(x: f64) -> f64 {
    let mut r = f64::from_bits(0x5FE6_EB50_C7B5_37A9_u64.wrapping_sub(x.to_bits() >> 1));
    for _ in 0..2 {
        r *= 1.5 - 0.5 * x * r * r;
    }
    r
}

/// One face: `q` its old discharge, `q_side` the sum of its two neighbours'
/// (for θ-weighting), cells 0 and 1 on either side (bed, depth, n²).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn face(k: &Step, q: f64, q_side: f64, z0: f64, z1: f64, h0: f64, h1: f64, n0: f64, n1: f64) -> f64 {
    let (e0, e1) = (z0 + h0, z1 + h1);
    let hf = e0.max(e1) - z0.max(z1);
    // A NODATA (NaN) bed on either side makes the face a wall (`max` would skip the NaN).
    let wet = hf > k.h_min && z0.is_finite() && z1.is_finite();
    let hf = if wet { hf } else { 1.0 };
    let slope = (e1 - e0) * k.inv_dx;
    let n2 = 0.5 * (n0 * n0 + n1 * n1);
    let n2 = if wet { n2 } else { 0.0 };
    let q_theta = k.theta * q + 0.5 * (1.0 - k.theta) * q_side;
    let r = inv_cbrt_f32(hf as f32);
    let r2 = r * r;
    let h_pow = (r * r2 * r2 * r2) as f64;
    let q_new = (q_theta - k.g_dt * hf * slope) / (1.0 + k.g_dt * n2 * q.abs() * h_pow);
    // Froude cap: |q| ≤ Fr·√g·h^(3/2) = Fr·√g·h²/√h (a limiter: 1e-5 is plenty).
    let cap = k.froude_sqrt_g * hf * hf * inv_sqrt(hf);
    let q_new = q_new.max(-cap).min(cap);
    if wet { q_new } else { 0.0 }
}

/// Slices of one run of faces: cells 0 and 1 on either side of each face.
pub(crate) struct Run<'a> {
    pub q: &'a [f64],
    pub q_before: &'a [f64],
    pub q_after: &'a [f64],
    pub z0: &'a [f64],
    pub z1: &'a [f64],
    pub h0: &'a [f64],
    pub h1: &'a [f64],
    pub n0: &'a [f64],
    pub n1: &'a [f64],
}

/// New discharges of a run of faces into `out` (all slices of `out`'s length).
/// Inlined into the flood step, which is compiled for AVX2 as well.
#[inline(always)]
pub(crate) fn faces(k: &Step, r: &Run, out: &mut [f64]) {
    let n = out.len();
    let (q, qb, qa) = (&r.q[..n], &r.q_before[..n], &r.q_after[..n]);
    let (z0, z1, h0, h1, n0, n1) = (&r.z0[..n], &r.z1[..n], &r.h0[..n], &r.h1[..n], &r.n0[..n], &r.n1[..n]);
    for i in 0..n {
        out[i] = face(k, q[i], qb[i] + qa[i], z0[i], z1[i], h0[i], h1[i], n0[i], n1[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_f32_inverse_cube_root_is_within_1_5e5_and_its_7th_power_within_1e4() {
        for k in 0..2000 {
            let x = 1e-6f64 * 1.013f64.powi(k);
            let (got, want) = (inv_cbrt_f32(x as f32) as f64, 1.0 / x.cbrt());
            assert!(((got - want) / want).abs() < 1.5e-5, "{x}: {got} vs {want}");
            let (p, q) = (got.powi(7), want.powi(7));
            assert!(((p - q) / q).abs() < 1e-4, "{x}: h^(-7/3) {p} vs {q}");
        }
    }

    #[test]
    fn the_inverse_square_root_is_within_1e5() {
        for k in 0..2000 {
            let x = 1e-6f64 * 1.013f64.powi(k);
            let (got, want) = (inv_sqrt(x), 1.0 / x.sqrt());
            assert!(((got - want) / want).abs() < 1e-5, "{x}: {got} vs {want}");
        }
    }

    #[test]
    fn dry_and_nodata_faces_carry_nothing() {
        let k = Step { g_dt: 9.81 * 0.1, inv_dx: 0.5, h_min: 1e-3, theta: 0.8, froude_sqrt_g: 9.81f64.sqrt() };
        assert_eq!(face(&k, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0005, 0.03, 0.03), 0.0);
        assert_eq!(face(&k, 0.3, 0.0, f64::NAN, 0.0, 0.0, 1.0, 0.03, 0.03), 0.0);
        // Still water stays still.
        assert_eq!(face(&k, 0.0, 0.0, 0.5, 0.2, 1.0, 1.3, 0.03, 0.03), 0.0);
        // Water flows downhill in the surface: from 1 towards 0.
        assert!(face(&k, 0.0, 0.0, 0.0, 0.0, 1.0, 1.1, 0.03, 0.03) < 0.0);
    }
}
