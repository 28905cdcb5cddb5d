//! The momentum update of the flood solver on a run of faces, written
//! branch-free over slices (no bounds checks, selects instead of early
//! returns) so that LLVM vectorizes it. A face with a NODATA cell or a flow
//! depth at or below `h_min` gets `q = 0`. The friction speed is the
//! face-normal discharge, or (`TWO_D`) its magnitude with the mean of the
//! four discharges across the face, as LISFLOOD-FP's default friction.
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
    /// Flow depths are capped here (infinity: no cap).
    pub h_flow_max: f64,
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
/// (for θ-weighting), `q_across` the mean of the four across it (2D friction),
/// cells 0 and 1 on either side (bed, depth, n).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn face<const TWO_D: bool>(
    k: &Step,
    q: f64,
    q_side: f64,
    q_across: f64,
    z0: f64,
    z1: f64,
    h0: f64,
    h1: f64,
    n0: f64,
    n1: f64,
) -> f64 {
    let (e0, e1) = (z0 + h0, z1 + h1);
    let hf = (e0.max(e1) - z0.max(z1)).min(k.h_flow_max);
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
    let speed = if TWO_D { (q * q + q_across * q_across).sqrt() } else { q.abs() };
    let friction = 1.0 + k.g_dt * n2 * speed * h_pow;
    let push = k.g_dt * hf * slope;
    let q_new = (q_theta - push) / friction;
    // θ-weighting must not drive water up the surface slope: there the face's own q is used (LISFLOOD-FP).
    let q_new = if q_new * slope > 0.0 { (q - push) / friction } else { q_new };
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
    /// The mean discharge across each face (2D friction only; may be empty otherwise).
    pub q_across: &'a [f64],
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
pub(crate) fn faces<const TWO_D: bool>(k: &Step, r: &Run, out: &mut [f64]) {
    let n = out.len();
    let (q, qb, qa) = (&r.q[..n], &r.q_before[..n], &r.q_after[..n]);
    let (z0, z1, h0, h1, n0, n1) = (&r.z0[..n], &r.z1[..n], &r.h0[..n], &r.h1[..n], &r.n0[..n], &r.n1[..n]);
    if TWO_D {
        let qc = &r.q_across[..n];
        for i in 0..n {
            out[i] = face::<true>(k, q[i], qb[i] + qa[i], qc[i], z0[i], z1[i], h0[i], h1[i], n0[i], n1[i]);
        }
    } else {
        for i in 0..n {
            out[i] = face::<false>(k, q[i], qb[i] + qa[i], 0.0, z0[i], z1[i], h0[i], h1[i], n0[i], n1[i]);
        }
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
        let k = Step {
            g_dt: 9.81 * 0.1,
            inv_dx: 0.5,
            h_min: 1e-3,
            h_flow_max: f64::INFINITY,
            theta: 0.8,
            froude_sqrt_g: 9.81f64.sqrt(),
        };
        assert_eq!(face::<false>(&k, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005, 0.03, 0.03), 0.0);
        assert_eq!(face::<false>(&k, 0.3, 0.0, 0.0, f64::NAN, 0.0, 0.0, 1.0, 0.03, 0.03), 0.0);
        // Still water stays still.
        assert_eq!(face::<true>(&k, 0.0, 0.0, 0.0, 0.5, 0.2, 1.0, 1.3, 0.03, 0.03), 0.0);
        // Water flows downhill in the surface: from 1 towards 0.
        assert!(face::<false>(&k, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.1, 0.03, 0.03) < 0.0);
    }

    /// The friction term against a hand computation: q = (q₀ − g·dt·h·S) / (1 + g·dt·n²·|v|/h^(7/3)),
    /// |v| the face's own q (1D) or its magnitude with the flow across (2D); and the flow-depth cap.
    #[test]
    fn friction_speed_and_depth_cap_follow_lisflood() {
        let (g, dt, dx, n, h, q0, across) = (9.80655, 0.5, 10.0, 0.05, 2.0, 0.6, 0.8);
        let k = Step {
            g_dt: g * dt,
            inv_dx: 1.0 / dx,
            h_min: 1e-3,
            h_flow_max: f64::INFINITY,
            theta: 1.0,
            froude_sqrt_g: f64::INFINITY,
        };
        // Surface 2.0 → 2.01 m over 10 m: slope 0.001, the face pushes towards cell 0.
        let want = |speed: f64| (q0 - g * dt * h * 0.001) / (1.0 + g * dt * n * n * speed / h.powf(7.0 / 3.0));
        let one = face::<false>(&k, q0, 0.0, across, 0.0, 0.0, 2.0, 2.01, n, n);
        let two = face::<true>(&k, q0, 0.0, across, 0.0, 0.0, 2.0, 2.01, n, n);
        assert!((one - want(q0)).abs() < 1e-4 * want(q0).abs(), "1D {one} vs {}", want(q0));
        assert!((two - want(1.0)).abs() < 1e-4 * want(1.0).abs(), "2D {two} vs {}", want(1.0));
        assert!(two < one, "more friction with flow across the face");
        let capped = Step { h_flow_max: 1.0, ..k };
        let h = 1.0;
        let want_cap = (q0 - g * dt * h * 0.001) / (1.0 + g * dt * n * n * q0 / h.powf(7.0 / 3.0));
        let got = face::<false>(&capped, q0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.01, n, n);
        assert!((got - want_cap).abs() < 1e-4 * want_cap.abs(), "capped {got} vs {want_cap}");
    }

    /// With θ < 1 a face whose weighted discharge would flow up the surface
    /// slope takes its own discharge instead (LISFLOOD-FP `fp_acc.cpp`).
    #[test]
    fn theta_weighting_never_pushes_water_uphill() {
        let k = Step {
            g_dt: 9.80655 * 0.1,
            inv_dx: 0.1,
            h_min: 1e-3,
            h_flow_max: f64::INFINITY,
            theta: 0.7,
            froude_sqrt_g: f64::INFINITY,
        };
        // Surface falls from cell 0 to cell 1 (water should go +); the neighbours flow strongly −.
        let q = face::<false>(&k, 0.01, -4.0, 0.0, 0.0, 0.0, 1.01, 1.0, 0.0, 0.0);
        let plain = 0.01 + 9.80655 * 0.1 * 1.01 * 0.01 * 0.1;
        assert!((q - plain).abs() < 1e-12, "{q} vs {plain}");
    }
}
