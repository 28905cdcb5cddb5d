//! The sun's position against two independent references:
//!
//! - **NREL SPA** (Reda & Andreas, NREL/TP-560-34302): its published example
//!   (2003-10-17 12:30:30 at UTC−7, Golden, Colorado; the outputs printed at
//!   the end of NREL's `spa_tester.c`), and the same example and 51 other
//!   instants computed at full double precision by NREL's reference C code
//!   (`spa.c`, revision 08-SEP-2014, compiled unchanged; elevation 0 m,
//!   1010 mbar, 10 °C, ΔT from Espenak–Meeus as in pvlib). Bound: 1e-6°,
//!   far inside SPA's stated uncertainty of ±0.0003°.
//! - **NOAA's solar calculator** (gml.noaa.gov/grad/solcalc, its `main.js`
//!   run unchanged under node for the same 51 instants, 1990–2030,
//!   latitudes −77.8° to 89°, with polar-day and polar-night edges found
//!   to the second). NOAA's model is Meeus' low-precision one, geocentric
//!   and without ΔT; NOAA states its accuracy only for rise and set times
//!   (a minute within ±72° latitude). Its class against SPA is bounded
//!   here: 0.01° in geometric elevation, 0.03° in azimuth below 85°
//!   elevation (0.12° nearer the zenith, where azimuth is ill-conditioned),
//!   0.1 minute in the equation of time and 0.005° in declination.

// The literals are the references' own digits, kept as printed.
#![allow(clippy::excessive_precision)]

use urbis_geo::sun::{RiseTransitSet, rise_transit_set};
use urbis_geo::{SunInput, julian_day, sun_position};

/// NREL's SPA example: the inputs of `spa_tester.c`.
fn spa_example() -> urbis_geo::SunPosition {
    let jd = julian_day(2003, 10, 17, 19, 30, 30.0); // 12:30:30 local at UTC−7
    sun_position(&SunInput {
        jd,
        delta_t: 67.0,
        lat_deg: 39.742_476,
        lon_deg: -105.1786,
        elevation_m: 1830.14,
        pressure_mbar: 820.0,
        temperature_c: 11.0,
    })
}

/// The outputs `spa_tester.c` prints for its example, to the digits printed.
#[test]
fn the_spa_example_matches_the_published_tester_output() {
    let jd = julian_day(2003, 10, 17, 19, 30, 30.0);
    assert!((jd - 2_452_930.312_847).abs() < 5e-7, "Julian day {jd}");
    let p = spa_example();
    let checks = [
        ("L", p.heliocentric_longitude_deg, 2.401_826e1, 5e-6),
        ("B", p.heliocentric_latitude_deg, -1.011_219e-4, 5e-11),
        ("R", p.distance_au, 0.996_542, 5e-7),
        ("H", p.hour_angle_deg, 11.105_902, 5e-7),
        ("Delta Psi", p.nutation_longitude_deg, -3.998_404e-3, 5e-10),
        ("Delta Epsilon", p.nutation_obliquity_deg, 1.666_568e-3, 5e-10),
        ("Epsilon", p.obliquity_deg, 23.440_465, 5e-7),
        ("Zenith", p.zenith_deg, 50.111_622, 5e-7),
        ("Azimuth", p.azimuth_deg, 194.340_241, 5e-7),
        ("Incidence", p.incidence_deg(30.0, 170.0), 25.187_000, 5e-7),
    ];
    for (name, got, want, tol) in checks {
        assert!((got - want).abs() <= tol, "{name}: {got} vs published {want}");
    }
    // The tester prints sunrise 06:12:43 and sunset 17:20:19 local time (truncated to the second).
    let rts = rise_transit_set((2003, 10, 17), -7.0, 67.0, 39.742_476, -105.1786);
    let hms = |h: f64| {
        let s = (h * 3600.0).floor() as i64;
        (s / 3600, s / 60 % 60, s % 60)
    };
    assert_eq!(hms(rts.sunrise_h.expect("sunrise")), (6, 12, 43));
    assert_eq!(hms(rts.sunset_h.expect("sunset")), (17, 20, 19));
}

/// The same example at full precision from NREL's C code (every field it computes).
#[test]
fn the_spa_example_matches_nrels_c_code_to_a_microdegree() {
    let p = spa_example();
    let checks = [
        ("l", p.heliocentric_longitude_deg, 24.018_261_691_679_399),
        ("b", p.heliocentric_latitude_deg, -0.000_101_121_924_800_342_37),
        ("r", p.distance_au, 0.996_542_297_353_970_82),
        ("del_psi", p.nutation_longitude_deg, -0.003_998_404_303_332_777),
        ("del_epsilon", p.nutation_obliquity_deg, 0.001_666_568_177_249_685_6),
        ("epsilon", p.obliquity_deg, 23.440_464_519_617_525),
        ("alpha", p.right_ascension_deg, 202.227_407_827_207_26),
        ("delta", p.declination_deg, -9.314_340_090_849_105_6),
        ("h", p.hour_angle_deg, 11.105_902_013_913_436),
        ("delta_prime", p.topocentric_declination_deg, -9.316_178_699_714_907_2),
        ("e0", 90.0 - p.zenith_geometric_deg, 39.872_045_903_847_18),
        ("zenith", p.zenith_deg, 50.111_622_024_029_721),
        ("azimuth", p.azimuth_deg, 194.340_240_510_191_62),
        ("incidence", p.incidence_deg(30.0, 170.0), 25.187_000_200_353_15),
        ("eot (minutes)", p.equation_of_time_min, 14.641_510_770_819_213),
    ];
    for (name, got, want) in checks {
        assert!((got - want).abs() <= 1e-6, "{name}: {got} vs C {want}");
    }
    let rts = rise_transit_set((2003, 10, 17), -7.0, 67.0, 39.742_476, -105.1786);
    let want = RiseTransitSet {
        transit_h: 11.768_045_029_432_94,
        sunrise_h: Some(6.212_066_609_284_621_1),
        sunset_h: Some(17.338_666_514_441_748),
    };
    let hours = |r: RiseTransitSet| [r.transit_h, r.sunrise_h.unwrap_or(f64::NAN), r.sunset_h.unwrap_or(f64::NAN)];
    for (got, want) in hours(rts).into_iter().zip(hours(want)) {
        // 1e-6 h is 3.6 ms.
        assert!((got - want).abs() <= 1e-6, "rise/transit/set {rts:?} vs C {want:?}");
    }
}

/// A case computed by NREL's C code (elevation 0 m, 1010 mbar, 10 °C).
struct Spa {
    id: u32,
    utc: (i32, u32, u32, u32, u32, f64),
    lat: f64,
    lon: f64,
    jd: f64,
    delta_t: f64,
    e0: f64,
    zenith: f64,
    azimuth: f64,
    eot: f64,
    decl: f64,
    decl_topo: f64,
    hour_angle: f64,
    r: f64,
}

#[rustfmt::skip]
const SPA_C: [Spa; 51] = [
    Spa { id: 1, utc: (2003, 10, 17, 19, 30, 30.0), lat: 39.742476, lon: -105.1786, jd: 2452930.3128472222, delta_t: 64.50782627574074, e0: 39.872051649494033, zenith: 50.107760939408969, azimuth: 194.34027718398249, eot: 14.641504918301475, decl: -9.3143295511888589, decl_topo: -9.3161676300419884, hour_angle: 11.105928981246791, r: 0.99654230530843591 },
    Spa { id: 2, utc: (2015, 6, 21, 18, 0, 0.0), lat: 39.742476, lon: -105.1786, jd: 2457195.25, delta_t: 69.235759078124971, e0: 69.018658337971857, zenith: 20.974869570148542, azimuth: 136.36228697299237, eot: -1.7731236722168928, decl: 23.434589589173719, decl_topo: 23.433895942034532, hour_angle: 344.37724619465058, r: 1.016262909441269 },
    Spa { id: 3, utc: (2021, 12, 21, 0, 53, 0.0), lat: -77.8463, lon: 166.6682, jd: 2459569.5368055557, delta_t: 72.689155453124968, e0: 35.587244927744614, zenith: 54.389218930520869, azimuth: 359.50696237419265, eot: 2.0787479324149531, decl: -23.435951637746104, decl_topo: -23.43394077410175, hour_angle: 0.43699149812067617, r: 0.98376009973125711 },
    Spa { id: 4, utc: (2021, 12, 21, 12, 53, 0.0), lat: -77.8463, lon: 166.6682, jd: 2459570.0368055557, delta_t: 72.689155453124968, e0: 11.281546549607246, zenith: 78.637851828688781, azimuth: 179.64908656061903, eot: 1.831086220517107, decl: -23.437432805700848, decl_topo: -23.435004733551885, hour_angle: 180.37507607387062, r: 0.98372717224179262 },
    Spa { id: 5, utc: (2021, 6, 21, 0, 53, 0.0), lat: -77.8463, lon: 166.6682, jd: 2459386.5368055557, delta_t: 72.406742578124963, e0: -11.286473627785851, zenith: 101.28647362778585, azimuth: 0.48679980258294897, eot: -1.7505012160155866, decl: 23.43735787972874, decl_topo: 23.439708263518614, hour_angle: 359.47968111623589, r: 1.0162245218363073 },
    Spa { id: 6, utc: (2022, 4, 22, 0, 50, 53.0), lat: -77.8463, lon: 166.6682, jd: 2459691.5353356483, delta_t: 72.878983203125046, e0: 0.021684472351942471, zenith: 89.498420891093119, azimuth: 0.2565434400993194, eot: 1.3978477583970841, decl: 12.129469056394996, decl_topo: 12.131891846949735, hour_angle: 359.73759852218041, r: 1.0050182079497316 },
    Spa { id: 7, utc: (2022, 4, 23, 0, 50, 42.0), lat: -77.8463, lon: 166.6682, jd: 2459692.5352083333, delta_t: 72.878983203125046, e0: -0.3135843603922796, zenith: 89.782628031257417, azimuth: 0.25384359128344691, eot: 1.5909170585952765, decl: 12.4647410137528, decl_topo: 12.46716311642877, hour_angle: 359.74003243511925, r: 1.005296814967976 },
    Spa { id: 8, utc: (2022, 10, 25, 12, 36, 18.0), lat: -77.8463, lon: 166.6682, jd: 2459878.0252083335, delta_t: 73.166053578125045, e0: 0.038379861621982689, zenith: 89.484124986676221, azimuth: 180.26830566324148, eot: 15.932797517903619, decl: -12.194393091700793, decl_topo: -12.191944549172884, hour_angle: 179.72550069728374, r: 0.99444941364129946 },
    Spa { id: 9, utc: (2022, 10, 24, 12, 36, 25.0), lat: -77.8463, lon: 166.6682, jd: 2459877.0252893521, delta_t: 73.166053578125045, e0: -0.30693006166004572, zenith: 89.777037562784329, azimuth: 180.26918094110351, eot: 15.813977075071669, decl: -11.849081735667722, decl_topo: -11.846633918181146, hour_angle: 179.72496225496499, r: 0.99472160366536333 },
    Spa { id: 10, utc: (2010, 12, 21, 10, 45, 30.0), lat: -33.9249, lon: 18.4241, jd: 2455551.9482638887, delta_t: 67.121601703124966, e0: 79.508045207233039, zenith: 10.488843838099015, azimuth: 358.50004556921419, eot: 1.9976497832120705, decl: -23.436622364751827, decl_topo: -23.436178366490999, hour_angle: 0.29765243994830826, r: 0.98374453966700959 },
    Spa { id: 11, utc: (1995, 6, 21, 6, 0, 0.0), lat: -33.9249, lon: 18.4241, jd: 2449889.75, delta_t: 61.165119159212871, e0: 0.77748726900352294, zenith: 88.83730816673031, azimuth: 60.756326985201021, eot: -1.5897166637517215, decl: 23.436299728344263, decl_topo: 23.437769320678903, hour_angle: 288.02584296956121, r: 1.0162657793596228 },
    Spa { id: 12, utc: (2000, 3, 20, 17, 15, 0.0), lat: -0.1807, lon: -78.4678, jd: 2451624.21875, delta_t: 63.927083958376627, e0: 88.417149620273491, zenith: 1.5824133180755666, azimuth: 77.605024476556949, eot: -7.3089512211745387, decl: 0.15906838492136746, decl_topo: 0.15908287416732564, hour_angle: 358.45411337797287, r: 0.99607332782902558 },
    Spa { id: 13, utc: (2018, 9, 23, 11, 0, 0.0), lat: -0.1807, lon: -78.4678, jd: 2458384.9583333335, delta_t: 70.903423453124958, e0: -1.5661697134118597, zenith: 91.566169713411853, azimuth: 90.152555307044068, eot: 7.6178753156272929, decl: -0.1475665602744175, decl_topo: -0.1475587626759472, hour_angle: 268.43578527669075, r: 1.0034253133700475 },
    Spa { id: 14, utc: (2000, 1, 1, 12, 0, 0.0), lat: 0.0, lon: 0.0, jd: 2451545.0, delta_t: 63.873832810959243, e0: 66.952704830137392, zenith: 23.040112562762204, azimuth: 178.06904733359079, eot: -3.2816935574850707, decl: -23.032482040097307, decl_topo: -23.033453927691223, hour_angle: 359.1787279106569, r: 0.98332757679031835 },
    Spa { id: 15, utc: (2030, 12, 31, 23, 59, 59.0), lat: 0.0, lon: 0.0, jd: 2462867.499988426, delta_t: 78.25044670312495, e0: -66.957422046847739, zenith: 156.95742204684774, azimuth: 181.90549002015877, eot: -3.220951162797697, decl: -23.030074103193403, decl_topo: -23.029102369735273, hour_angle: 179.1896610427402, r: 0.98331054579730315 },
    Spa { id: 16, utc: (1990, 1, 1, 0, 0, 0.0), lat: 0.0, lon: 0.0, jd: 2447892.5, delta_t: 56.92137028332472, e0: -66.944820947283759, zenith: 156.94482094728374, azimuth: 181.93252395476048, eot: -3.2861612719984756, decl: -23.042282175768417, decl_topo: -23.041309983178763, hour_angle: 179.17766854787203, r: 0.98333584775524763 },
    Spa { id: 17, utc: (2016, 6, 21, 4, 20, 0.0), lat: 22.5, lon: 114.1, jd: 2457560.6805555555, delta_t: 69.73631132812497, e0: 88.444649039931079, zenith: 1.5549220533421959, azimuth: 52.810166786897256, eot: -1.7978678162203763, decl: 23.434437963806516, decl_topo: 23.434482592607754, hour_angle: 358.6496569614369, r: 1.0162541629732842 },
    Spa { id: 18, utc: (2016, 12, 21, 2, 0, 0.0), lat: 22.5, lon: 114.1, jd: 2457743.5833333335, delta_t: 69.990779203124973, e0: 32.586575824513645, zenith: 57.387105715574542, azimuth: 140.86680834197085, eot: 1.9241343080330773, decl: -23.434037865700393, decl_topo: -23.435648236600546, hour_angle: 324.58015593724167, r: 0.98374239377635375 },
    Spa { id: 19, utc: (2020, 1, 23, 2, 0, 0.0), lat: 30.5928, lon: 114.3055, jd: 2458871.5833333335, delta_t: 71.621748453125051, e0: 27.587579606730458, zenith: 62.380316486611171, azimuth: 138.46925496887596, eot: -11.583826909166003, decl: -19.597843615066562, decl_topo: -19.599587324845071, hour_angle: 321.40865497425898, r: 0.98418947749935792 },
    Spa { id: 20, utc: (2024, 8, 15, 9, 30, 15.0), lat: 30.5928, lon: 114.3055, jd: 2460537.8960069446, delta_t: 74.242553453124998, e0: 19.099775215979026, zenith: 70.852285345479629, azimuth: 275.11721251172338, eot: -4.4178871411185954, decl: 13.833420488047455, decl_topo: 13.832357636089942, hour_angle: 75.762622048654066, r: 1.0127248804473765 },
    Spa { id: 21, utc: (2017, 4, 1, 3, 45, 0.0), lat: 38.9, lon: 115.9, jd: 2457844.65625, delta_t: 70.161976953125034, e0: 54.765669390053311, zenith: 35.222399509786541, azimuth: 164.62599593495585, eot: -3.9017011605888365, decl: 4.5899918229248309, decl_topo: 4.5886205006552636, hour_angle: 351.17369576681932, r: 0.99928706286749769 },
    Spa { id: 22, utc: (2023, 12, 22, 8, 55, 0.0), lat: 38.9, lon: 115.9, jd: 2460300.871527778, delta_t: 73.846751953124965, e0: -0.36037639073018563, zenith: 89.821887302265466, azimuth: 239.59775066302456, eot: 1.6363538625855136, decl: -23.438131580329635, decl_topo: -23.439817098007062, hour_angle: 70.058185104059589, r: 0.98371265306638922 },
    Spa { id: 23, utc: (1999, 8, 11, 10, 11, 0.0), lat: 51.5074, lon: -0.1278, jd: 2451401.9243055554, delta_t: 63.725994021472978, e0: 47.185291155713642, zenith: 42.799066820225761, azimuth: 137.05563909986705, eot: -5.2558855096297386, decl: 15.338408370035225, decl_topo: 15.336946448417981, hour_angle: 331.30738067341065, r: 1.0135844224238195 },
    Spa { id: 24, utc: (2012, 3, 20, 12, 0, 0.0), lat: 51.5074, lon: -0.1278, jd: 2456007.0, delta_t: 67.686162328124965, e0: 38.575482687412276, zenith: 51.403382082975781, azimuth: 177.49105627335575, eot: -7.3300183610456315, decl: 0.11151600379693498, decl_topo: 0.10960832777933402, hour_angle: 358.03883208608232, r: 0.99604167345959727 },
    Spa { id: 25, utc: (2021, 12, 21, 15, 55, 0.0), lat: 51.5074, lon: -0.1278, jd: 2459570.1631944445, delta_t: 72.689155453124968, e0: -1.0187829342558994, zenith: 91.018782934255896, azimuth: 231.91464648000075, eot: 1.7684483912170352, decl: -23.437497300986049, decl_topo: -23.439588907748355, hour_angle: 59.063416587201232, r: 0.98371909077190278 },
    Spa { id: 26, utc: (2005, 6, 21, 21, 30, 0.0), lat: 60.0, lon: 10.75, jd: 2453543.3958333335, delta_t: 64.845026578124973, e0: -3.6413837421071946, zenith: 93.641383742107195, azimuth: 335.13731477837678, eot: -1.857937020397914, decl: 23.439341127917999, decl_topo: 23.437013087072089, hour_angle: 152.78466863757092, r: 1.0162810238125846 },
    Spa { id: 27, utc: (2026, 2, 10, 11, 30, 0.0), lat: 60.0, lon: 10.75, jd: 2461081.9791666665, delta_t: 75.151271078125006, e0: 15.735085040197307, zenith: 74.206511713608904, azimuth: 179.70547647276442, eot: -14.166342856074518, decl: -14.262164400201659, decl_topo: -14.264539061881703, hour_angle: 359.70750165159205, r: 0.98683252839822022 },
    Spa { id: 28, utc: (2014, 6, 21, 0, 0, 0.0), lat: 64.1466, lon: -21.9426, jd: 2456829.5, delta_t: 68.746384828124974, e0: -0.69772247543367549, zenith: 90.10275732250058, azimuth: 339.57296627496407, eot: -1.650604305966912, decl: 23.434341020196936, decl_topo: 23.431977531915734, hour_angle: 157.64387910210945, r: 1.0161994536811805 },
    Spa { id: 29, utc: (2019, 12, 21, 13, 30, 0.0), lat: 64.1466, lon: -21.9426, jd: 2458839.0625, delta_t: 71.576270953124961, e0: 2.4123864698747406, zenith: 87.330419476064819, azimuth: 180.98515423383699, eot: 2.0650561348718939, decl: -23.434517911399453, decl_topo: -23.436991755232278, hour_angle: 1.0727759662636345, r: 0.98374647512602853 },
    Spa { id: 30, utc: (2019, 6, 21, 22, 45, 0.0), lat: 69.6492, lon: 18.9553, jd: 2458656.4479166665, delta_t: 71.305036078124971, e0: 3.0823651776876901, zenith: 86.693614750377122, azimuth: 359.76577667585468, eot: -1.837302557533421, decl: 23.435377398052857, decl_topo: 23.432983981633196, hour_angle: 179.74508803490548, r: 1.0162630109148947 },
    Spa { id: 31, utc: (2019, 12, 21, 10, 40, 0.0), lat: 69.6492, lon: 18.9553, jd: 2458838.9444444445, delta_t: 71.576270953124961, e0: -3.086301650597985, zenith: 93.086301650597989, azimuth: 179.52713402913517, eot: 2.1238362619916211, decl: -23.433890621132718, decl_topo: -23.436363112115554, hour_angle: 359.48537101598578, r: 0.98375398122662872 },
    Spa { id: 32, utc: (2019, 11, 22, 10, 29, 47.0), lat: 69.6492, lon: 18.9553, jd: 2458809.9373495369, delta_t: 71.530871078124989, e0: 0.24077503283529841, zenith: 89.309693215198507, azimuth: 179.90664973063394, eot: 14.001384006508019, decl: -20.107531033040623, decl_topo: -20.109996803987627, hour_angle: 359.90059153717544, r: 0.98773780384396215 },
    Spa { id: 33, utc: (2019, 11, 24, 10, 30, 21.0), lat: 69.6492, lon: 18.9553, jd: 2458811.9377430556, delta_t: 71.530871078124989, e0: -0.17728982417272551, zenith: 89.667733034104231, azimuth: 179.91031961824561, eot: 13.449314172782497, decl: -20.525596991696851, decl_topo: -20.528063761403178, hour_angle: 359.90424082939575, r: 0.98735770597148698 },
    Spa { id: 34, utc: (2019, 11, 26, 10, 30, 59.0), lat: 69.6492, lon: 18.9553, jd: 2458813.9381828704, delta_t: 71.530871078124989, e0: -0.57007116653283751, zenith: 89.99683847124075, azimuth: 179.91735618156395, eot: 12.845134040052955, decl: -20.918381355029364, decl_topo: -20.920848976728205, hour_angle: 359.91152912315948, r: 0.98698755414062922 },
    Spa { id: 35, utc: (2019, 11, 27, 10, 31, 19.0), lat: 69.6492, lon: 18.9553, jd: 2458814.938414352, delta_t: 71.530871078124989, e0: -0.75673948474231101, zenith: 90.151650199118379, azimuth: 179.92037178813942, eot: 12.524299275510439, decl: -21.105050859863155, decl_topo: -21.107518859748851, hour_angle: 359.91465382348679, r: 0.98680615453712006 },
    Spa { id: 36, utc: (2019, 5, 22, 22, 40, 29.0), lat: 69.6492, lon: 18.9553, jd: 2458626.4447800927, delta_t: 71.260101953125016, e0: 0.11520140887732568, zenith: 89.418162465967313, azimuth: 359.90926395161523, eot: 3.3116084256070697, decl: 20.468380648360533, decl_topo: 20.465974739636192, hour_angle: 179.90314950328855, r: 1.0123347514777745 },
    Spa { id: 37, utc: (2019, 5, 20, 22, 40, 20.0), lat: 69.6492, lon: 18.9553, jd: 2458624.4446759261, delta_t: 71.260101953125016, e0: -0.28518669019294318, zenith: 89.75875712621189, azimuth: 359.90585883748145, eot: 3.4481099765315566, decl: 20.067991467008063, decl_topo: 20.065584675613792, hour_angle: 179.89977491305899, r: 1.0119374566711152 },
    Spa { id: 38, utc: (2025, 2, 17, 11, 12, 35.0), lat: 78.2232, lon: 15.6267, jd: 2460723.967071759, delta_t: 74.542664828124998, e0: -0.03442250123431817, zenith: 89.546361419926086, azimuth: 180.28323435185445, eot: -13.929067395997508, decl: -11.808612518878883, decl_topo: -11.811076527614347, hour_angle: 0.28935813257913878, r: 0.98819842550303039 },
    Spa { id: 39, utc: (2025, 2, 18, 11, 12, 31.0), lat: 78.2232, lon: 15.6267, jd: 2460724.967025463, delta_t: 74.542664828124998, e0: 0.31865035127289715, zenith: 89.242023653775391, azimuth: 180.28773578755582, eot: -13.845514993908324, decl: -11.455535771611244, decl_topo: -11.457999191664431, hour_angle: 0.29357966438368521, r: 0.98841125174691291 },
    Spa { id: 40, utc: (2025, 4, 20, 22, 55, 10.0), lat: 78.2232, lon: 15.6267, jd: 2460786.4549768521, delta_t: 74.643322953125036, e0: 0.076366026439907614, zenith: 89.451545732685446, azimuth: 359.73959219856829, eot: 1.2658351222033353, decl: 11.855465827526743, decl_topo: 11.853042614561923, hour_angle: 179.73391655528616, r: 1.0048355083536071 },
    Spa { id: 41, utc: (2025, 4, 19, 22, 55, 22.0), lat: 78.2232, lon: 15.6267, jd: 2460785.4551157407, delta_t: 74.643322953125036, e0: -0.26490816254553462, zenith: 89.741689729702102, azimuth: 359.73770983903063, eot: 1.0594720350020832, decl: 11.514190635542572, decl_topo: 11.511766790295034, hour_angle: 179.73232567200463, r: 1.0045554820945231 },
    Spa { id: 42, utc: (2008, 6, 21, 11, 0, 0.0), lat: 78.2232, lon: 15.6267, jd: 2454638.9583333335, delta_t: 66.044877328124969, e0: 35.214068732296781, zenith: 54.762071290023528, azimuth: 180.18527576336493, eot: -1.843460988491652, decl: 23.439278790495923, decl_topo: 23.437323175819831, hour_angle: 0.16498108978325376, r: 1.0162813527096666 },
    Spa { id: 43, utc: (2008, 6, 21, 23, 0, 0.0), lat: 78.2232, lon: 15.6267, jd: 2454639.4583333335, delta_t: 66.044877328124969, e0: 11.657747273389733, zenith: 78.264100354993346, azimuth: 0.12929817560017653, eot: -1.9513194189671328, decl: 23.436862563141926, decl_topo: 23.43451548937178, hour_angle: 180.13801648520834, r: 1.0163139741479181 },
    Spa { id: 44, utc: (2008, 12, 21, 11, 0, 0.0), lat: 78.2232, lon: 15.6267, jd: 2454821.9583333335, delta_t: 66.254633203124968, e0: -11.667404577234251, zenith: 101.66740457723425, azimuth: 180.99774197759132, eot: 1.7567415951624292, decl: -23.439887185237335, decl_topo: -23.442311957905936, hour_angle: 1.0650305484545015, r: 0.98370604691152264 },
    Spa { id: 45, utc: (2024, 3, 17, 12, 22, 36.0), lat: 89.0, lon: 0.0, jd: 2460387.0156944445, delta_t: 73.994595328124959, e0: -0.037758953297273974, zenith: 89.549207287228043, azimuth: 183.60311174167754, eot: -8.1815906537630987, decl: -1.0333356021980278, decl_topo: -1.0357820472333659, hour_angle: 3.6036978749821058, r: 0.99515347646364649 },
    Spa { id: 46, utc: (2024, 3, 18, 12, 22, 19.0), lat: 89.0, lon: 0.0, jd: 2460388.0154976854, delta_t: 73.994595328124959, e0: 0.35765398639610974, zenith: 89.208016933303952, azimuth: 183.6054254639109, eot: -7.8907373859938161, decl: -0.63792107480463001, decl_topo: -0.64036680682926794, hour_angle: 3.6055779147261502, r: 0.99542361143579694 },
    Spa { id: 47, utc: (2024, 9, 20, 0, 0, 30.0), lat: 89.0, lon: 0.0, jd: 2460573.5003472222, delta_t: 74.292377953124955, e0: -0.018531382368441488, zenith: 89.532799279157317, azimuth: 1.7714094210995945, eot: 6.5903077372733954, decl: 0.98341490334303916, decl_topo: 0.9809906817201195, hour_angle: 181.77167040105473, r: 1.0042767974402007 },
    Spa { id: 48, utc: (2024, 6, 21, 0, 0, 0.0), lat: 89.0, lon: 0.0, jd: 2460482.5, delta_t: 74.143137328124965, e0: 22.435982646460037, zenith: 67.523595509906016, azimuth: 359.54982115888373, eot: -1.8104434894935655, decl: 23.438166086169563, decl_topo: 23.435951552349955, hour_angle: 179.54648363823509, r: 1.0162033942007034 },
    Spa { id: 49, utc: (2024, 12, 21, 12, 0, 0.0), lat: 89.0, lon: 0.0, jd: 2460666.0, delta_t: 74.442317203124958, e0: -22.440653903233304, zenith: 112.44065390323331, azimuth: 180.42398390705202, eot: 1.7121392275674787, decl: -23.438338748453599, decl_topo: -23.440626322379504, hour_angle: 0.4271272498806411, r: 0.98372385798027473 },
    Spa { id: 50, utc: (2011, 9, 1, 23, 30, 0.0), lat: 51.5, lon: 179.9, jd: 2455806.4791666665, delta_t: 67.458242203124968, e0: 46.176147794464143, zenith: 43.807650296209765, azimuth: 169.11764444853182, eot: 0.051066458024895657, decl: 8.1262012575181704, decl_topo: 8.1245461662648868, hour_angle: 352.41190448361272, r: 1.0091781020149981 },
    Spa { id: 51, utc: (2011, 9, 1, 23, 30, 0.0), lat: 51.5, lon: -179.9, jd: 2455806.4791666665, delta_t: 67.458242203124968, e0: 46.199350685192236, zenith: 43.784460486675442, azimuth: 169.40167513601855, eot: 0.051066458024895657, decl: 8.1262012575181704, decl_topo: 8.1245462633430474, hour_angle: 352.6119044836127, r: 1.0091781020149981 },
];

/// The same instants through NOAA's calculator: geometric (unrefracted,
/// geocentric) elevation, azimuth clockwise from north, equation of time
/// (minutes) and declination.
struct Noaa {
    id: u32,
    elevation: f64,
    azimuth: f64,
    eot: f64,
    decl: f64,
    note: &'static str,
}

#[rustfmt::skip]
const NOAA: [Noaa; 51] = [
    Noaa { id: 1, elevation: 39.87207442406391, azimuth: 194.34258286147949, eot: 14.646609789335045, decl: -9.315803744629324, note: "Golden CO; NREL SPA example instant (12:30:30 MST)" },
    Noaa { id: 2, elevation: 69.01918208853797, azimuth: 136.36036643147372, eot: -1.7799133646124023, decl: 23.434720923577437, note: "Golden; June solstice near local noon" },
    Noaa { id: 3, elevation: 35.589504635434025, azimuth: 359.5180534449207, eot: 2.03584283166617, decl: -23.436182868544037, note: "McMurdo; Dec solstice ~solar noon (polar day)" },
    Noaa { id: 4, elevation: 11.284179724439738, azimuth: 179.65831155244817, eot: 1.7880647350522303, decl: -23.43765045272333, note: "McMurdo; Dec solstice ~solar midnight, midnight sun" },
    Noaa { id: 5, elevation: -11.284108724574466, azimuth: 0.48766089104964294, eot: -1.7577570396816755, decl: 23.437341717031053, note: "McMurdo; June solstice ~solar noon, polar night" },
    Noaa { id: 6, elevation: 0.02393280402723974, azimuth: 0.25533934985168116, eot: 1.3991863462284555, decl: 12.129644674577223, note: "McMurdo; polar-night edge: daily max geometric elev just above 0" },
    Noaa { id: 7, elevation: -0.31135029766424793, azimuth: 0.2528380583161436, eot: 1.591448110037997, decl: 12.464930013358337, note: "McMurdo; polar-night edge: daily max geometric elev just below 0 (refracted > 0)" },
    Noaa { id: 8, elevation: 0.04112924909250637, azimuth: 180.25906549601427, eot: 15.967015507374505, decl: -12.194703094874779, note: "McMurdo; midnight-sun onset: daily min geometric elev just above 0" },
    Noaa { id: 9, elevation: -0.30405079033229754, azimuth: 180.26064617685196, eot: 15.845262518370822, decl: -11.849521676797776, note: "McMurdo; day before midnight-sun onset: daily min just below 0" },
    Noaa { id: 10, elevation: 79.50886270438174, azimuth: 358.52824048381916, eot: 1.971796415069853, decl: -23.43687524209821, note: "Cape Town; Dec solstice ~solar noon" },
    Noaa { id: 11, elevation: 0.78023131181412, azimuth: 60.75585332493374, eot: -1.5905967540354606, decl: 23.436457556420333, note: "Cape Town; June solstice just after sunrise (low sun)" },
    Noaa { id: 12, elevation: 88.42069387934853, azimuth: 77.54157396166984, eot: -7.297259232196231, decl: 0.16002984537537093, note: "Quito; March equinox near solar noon (sun near zenith)" },
    Noaa { id: 13, elevation: -1.5720002663619823, azimuth: 90.15330993599802, eot: 7.58127510484151, decl: -0.14829429701013655, note: "Quito; Sept equinox morning" },
    Noaa { id: 14, elevation: 66.95350694377109, azimuth: 178.05955354545853, eot: -3.3012588023605938, decl: -23.032515938065938, note: "lat 0 lon 0; J2000.0 epoch (UT)" },
    Noaa { id: 15, elevation: -66.95622835139022, azimuth: 181.901720594681, eot: -3.2183150350667327, decl: -23.0303485431995, note: "lat 0 lon 0; night, end of 2030" },
    Noaa { id: 16, elevation: -66.94383068610236, azimuth: 181.93353005519137, eot: -3.2910401703450294, decl: -23.0422851359855, note: "lat 0 lon 0; midnight 1990-01-01" },
    Noaa { id: 17, elevation: 88.44069672370787, azimuth: 52.91959166865372, eot: -1.8231633414890365, decl: 23.434452210949388, note: "22.5N; June solstice near solar noon (zenith ~1 deg, azimuth sensitive)" },
    Noaa { id: 18, elevation: 32.58495431134011, azimuth: 140.86180094905677, eot: 1.8961301244387418, decl: -23.434218714297288, note: "22.5N; Dec solstice morning" },
    Noaa { id: 19, elevation: 27.588094875424595, azimuth: 138.46694616342938, eot: -11.598630732533941, decl: -19.597937644463087, note: "Wuhan; winter morning" },
    Noaa { id: 20, elevation: 19.10228135445024, azimuth: 275.1173072496854, eot: -4.422156618339949, decl: 13.8336130698356, note: "Wuhan; summer late afternoon" },
    Noaa { id: 21, elevation: 54.76888141782129, azimuth: 164.6334274162756, eot: -3.8868909324453416, decl: 4.590875795065714, note: "Xiong'an area; spring near noon" },
    Noaa { id: 22, elevation: -0.3557770234047837, azimuth: 239.59546449953632, eot: 1.6192063748157686, decl: -23.438354006873517, note: "Xiong'an area; Dec solstice near sunset" },
    Noaa { id: 23, elevation: 47.18702764774725, azimuth: 137.05601427409513, eot: -5.258153866180522, decl: 15.338393954853586, note: "London; 1999-08-11 late morning" },
    Noaa { id: 24, elevation: 38.579092602662655, azimuth: 177.49320300300008, eot: -7.326577286583656, decl: 0.11317119740655726, note: "London; March equinox day noon UTC" },
    Noaa { id: 25, elevation: -1.0116529671459489, azimuth: 231.90687164526972, eot: 1.725405174339517, decl: -23.43771084924342, note: "London; Dec solstice near sunset" },
    Noaa { id: 26, elevation: -3.637689501210062, azimuth: 335.1332500264795, eot: -1.8798286673048246, decl: 23.439679490111978, note: "60N; June solstice after sunset (twilight)" },
    Noaa { id: 27, elevation: 15.73942453444053, azimuth: 179.69256700926076, eot: -14.22125370236045, decl: -14.260165909713505, note: "60N; February noon" },
    Noaa { id: 28, elevation: -0.6947671764574892, azimuth: 339.57000805116917, eot: -1.6671948463299053, decl: 23.43440119056996, note: "Reykjavik; June solstice UTC midnight (sun near horizon)" },
    Noaa { id: 29, elevation: 2.414617143791915, azimuth: 180.97699850913926, eot: 2.0259899884926096, decl: -23.434827465881664, note: "Reykjavik; Dec solstice ~solar noon (low sun)" },
    Noaa { id: 30, elevation: 3.0850499923254517, azimuth: 359.76619104182214, eot: -1.8390458692792984, decl: 23.43566943360122, note: "Tromso; June solstice ~solar midnight, midnight sun" },
    Noaa { id: 31, elevation: -3.084169026582302, azimuth: 179.51890643864803, eot: 2.084462436397883, decl: -23.434204575270172, note: "Tromso; Dec solstice ~solar noon, polar night" },
    Noaa { id: 32, elevation: 0.24159335931840076, azimuth: 179.9027335663543, eot: 13.981147115389541, decl: -20.109176065139142, note: "Tromso; polar-night edge: noon geometric elev just above 0" },
    Noaa { id: 33, elevation: -0.1762619141888564, azimuth: 179.90572832009386, eot: 13.426149492331826, decl: -20.527033114668598, note: "Tromso; polar-night edge: noon geometric elev just below 0" },
    Noaa { id: 34, elevation: -0.5687889482749995, azimuth: 179.91231994689943, eot: 12.820014916462148, decl: -20.91956397182533, note: "Tromso; noon geometric elev just above -0.575 (NOAA refraction polynomial branch)" },
    Noaa { id: 35, elevation: -0.75532017779679, azimuth: 179.91516227004126, eot: 12.498411697000005, decl: -21.10609676604303, note: "Tromso; noon geometric elev below -0.575 (NOAA refraction -20.774/tan branch)" },
    Noaa { id: 36, elevation: 0.11743949355616223, azimuth: 359.9092707463652, eot: 3.308094147197886, decl: 20.468212827922468, note: "Tromso; midnight-sun onset: daily min geometric elev just above 0" },
    Noaa { id: 37, elevation: -0.28316739798405877, azimuth: 359.90649669394725, eot: 3.4472836651713243, decl: 20.067604354163223, note: "Tromso; before midnight-sun onset: daily min just below 0" },
    Noaa { id: 38, elevation: -0.030073112018243364, azimuth: 180.27264226467474, eot: -13.975992744439086, decl: -11.806737854290308, note: "Longyearbyen; polar-night end: noon geometric elev just below 0" },
    Noaa { id: 39, elevation: 0.3231306917187453, azimuth: 180.2772381014104, eot: -13.891999780195583, decl: -11.453529631682848, note: "Longyearbyen; polar-night end: noon geometric elev just above 0" },
    Noaa { id: 40, elevation: 0.08186692265968532, azimuth: 359.7335973210601, eot: 1.2376852856074252, decl: 11.858537760644866, note: "Longyearbyen; midnight-sun onset: daily min just above 0" },
    Noaa { id: 41, elevation: -0.25936097330314567, azimuth: 359.73194566324173, eot: 1.0322936734409407, decl: 11.517308420366453, note: "Longyearbyen; day before midnight-sun onset: daily min just below 0" },
    Noaa { id: 42, elevation: 35.21619946112825, azimuth: 180.18405000095612, eot: -1.8512421227069806, decl: 23.439453186107, note: "Longyearbyen; June solstice ~solar noon" },
    Noaa { id: 43, elevation: 11.660234977000599, azimuth: 0.1281379835893972, eot: -1.9596874697122448, decl: 23.437003760511136, note: "Longyearbyen; June solstice ~solar midnight, midnight sun" },
    Noaa { id: 44, elevation: -11.664879813892583, azimuth: 180.99036012952652, eot: 1.721802477761049, decl: -23.439815114029997, note: "Longyearbyen; Dec solstice ~solar noon, polar night" },
    Noaa { id: 45, elevation: -0.034946105296413066, azimuth: 183.6075084798683, eot: -8.16762023825854, decl: -1.0329643748974748, note: "89N; daily max geometric elev just below 0 before March equinox" },
    Noaa { id: 46, elevation: 0.360464594982119, azimuth: 183.60996838704503, eot: -7.876184090421527, decl: -0.6375512107535449, note: "89N; daily max geometric elev just above 0" },
    Noaa { id: 47, elevation: -0.01752776386717869, azimuth: 1.7616944867174311, eot: 6.547813064171236, decl: 0.9819995275739415, note: "89N; daily min geometric elev just below 0 after Sept equinox" },
    Noaa { id: 48, elevation: 22.43858611665962, azimuth: 359.54928740069806, eot: -1.8162165525673482, decl: 23.438554948743096, note: "89N; June solstice" },
    Noaa { id: 49, elevation: -22.43857679248707, azimuth: 180.41641877917147, eot: 1.6780242819199247, decl: -23.438550187115915, note: "89N; Dec solstice" },
    Noaa { id: 50, elevation: 46.177639667485025, azimuth: 169.11351847423506, eot: 0.03606596017067781, decl: 8.126366722241496, note: "51.5N lon +179.9 (dateline east side)" },
    Noaa { id: 51, elevation: 46.20085066069884, azimuth: 169.39754660275813, eot: 0.03606596017067781, decl: 8.126366722241496, note: "51.5N lon -179.9 (dateline west side)" },
];

fn ours(c: &Spa) -> urbis_geo::SunPosition {
    let (y, mo, d, h, mi, s) = c.utc;
    sun_position(&SunInput {
        jd: julian_day(y, mo, d, h, mi, s),
        delta_t: c.delta_t,
        lat_deg: c.lat,
        lon_deg: c.lon,
        elevation_m: 0.0,
        pressure_mbar: 1010.0,
        temperature_c: 10.0,
    })
}

/// Azimuth difference on the circle, degrees.
fn az_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

#[test]
fn fifty_one_instants_match_nrels_c_code_to_a_microdegree() {
    let mut worst = [0.0f64; 3];
    for c in &SPA_C {
        let (y, mo, d, h, mi, s) = c.utc;
        assert!((julian_day(y, mo, d, h, mi, s) - c.jd).abs() < 1e-8, "case {}: Julian day", c.id);
        let p = ours(c);
        let e0 = 90.0 - p.zenith_geometric_deg;
        let checks = [
            ("e0", e0, c.e0),
            ("zenith", p.zenith_deg, c.zenith),
            ("declination", p.declination_deg, c.decl),
            ("topocentric declination", p.topocentric_declination_deg, c.decl_topo),
            ("hour angle", p.hour_angle_deg, c.hour_angle),
            ("eot (min)", p.equation_of_time_min, c.eot),
            ("r (AU)", p.distance_au, c.r),
        ];
        for (name, got, want) in checks {
            assert!((got - want).abs() <= 1e-6, "case {}: {name} {got} vs C {want}", c.id);
        }
        // Azimuth is ill-conditioned near the zenith; none of these is within 1° of it.
        assert!(
            az_diff(p.azimuth_deg, c.azimuth) <= 1e-6,
            "case {}: azimuth {} vs C {}",
            c.id,
            p.azimuth_deg,
            c.azimuth
        );
        worst[0] = worst[0].max((e0 - c.e0).abs());
        worst[1] = worst[1].max((p.zenith_deg - c.zenith).abs());
        worst[2] = worst[2].max(az_diff(p.azimuth_deg, c.azimuth));
    }
    eprintln!("vs NREL C over 51 instants: e0 {:.2e}°, zenith {:.2e}°, azimuth {:.2e}°", worst[0], worst[1], worst[2]);
}

#[test]
fn fifty_one_instants_agree_with_noaas_calculator_within_its_class() {
    assert_eq!(SPA_C.len(), NOAA.len());
    let mut worst = [0.0f64; 4];
    for (c, n) in SPA_C.iter().zip(&NOAA) {
        assert_eq!(c.id, n.id);
        let p = ours(c);
        let e0 = 90.0 - p.zenith_geometric_deg;
        let de = (e0 - n.elevation).abs();
        assert!(de <= 0.01, "case {} ({}): geometric elevation {e0} vs NOAA {}", n.id, n.note, n.elevation);
        let az_tol = if n.elevation > 85.0 { 0.12 } else { 0.03 };
        let da = az_diff(p.azimuth_deg, n.azimuth);
        assert!(da <= az_tol, "case {} ({}): azimuth {} vs NOAA {}", n.id, n.note, p.azimuth_deg, n.azimuth);
        let dt = (p.equation_of_time_min - n.eot).abs();
        assert!(dt <= 0.1, "case {}: equation of time {} vs NOAA {}", n.id, p.equation_of_time_min, n.eot);
        let dd = (p.declination_deg - n.decl).abs();
        assert!(dd <= 0.005, "case {}: declination {} vs NOAA {}", n.id, p.declination_deg, n.decl);
        // The sign of the elevation at the polar-day and polar-night edges agrees.
        if n.elevation.abs() > 0.01 {
            assert_eq!(e0 > 0.0, n.elevation > 0.0, "case {} ({}): above the horizon?", n.id, n.note);
        }
        if n.elevation <= 85.0 {
            worst[1] = worst[1].max(da);
        }
        worst[0] = worst[0].max(de);
        worst[2] = worst[2].max(dt);
        worst[3] = worst[3].max(dd);
    }
    eprintln!(
        "vs NOAA over 51 instants: elevation {:.4}°, azimuth {:.4}° (below 85°), EoT {:.3} min, declination {:.4}°",
        worst[0], worst[1], worst[2], worst[3]
    );
}

/// Polar night and midnight sun: no sunrise or sunset on those days, both on ordinary ones.
#[test]
fn polar_days_have_no_sunrise_or_sunset() {
    // Longyearbyen (78.22°N): midnight sun at the June solstice, polar night at the December one.
    for date in [(2008, 6, 21), (2008, 12, 21)] {
        let r = rise_transit_set(date, 1.0, 66.0, 78.2232, 15.6267);
        assert_eq!((r.sunrise_h, r.sunset_h), (None, None), "{date:?}");
        assert!((11.0..13.5).contains(&r.transit_h), "{date:?}: transit {}", r.transit_h);
    }
    let r = rise_transit_set((2008, 3, 20), 1.0, 66.0, 78.2232, 15.6267);
    assert!(r.sunrise_h.is_some_and(|h| h < r.transit_h) && r.sunset_h.is_some_and(|h| h > r.transit_h), "{r:?}");
}
