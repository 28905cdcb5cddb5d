//! The sun panel: a date and a local time that light the view by the real
//! sun (`urbis_geo::sun`, with shadows), as `--sun-time` does.
//!
//! ```text
//! date + hour (local clock, UTC offset from the city's longitude) ─► Unix ms ─► UiAction::Sun
//! ```

use crate::UiAction;

pub use urbis_geo::calendar::{civil_from_days, days_from_civil};

/// Unix ms of a local date and hour at `utc_offset_h` hours east of UTC.
pub fn unix_ms(year: i64, month: u32, day: u32, hour: f64, utc_offset_h: i32) -> i64 {
    let days = days_from_civil(year, month, day);
    ((days as f64 * 24.0 + hour - f64::from(utc_offset_h)) * 3_600_000.0).round() as i64
}

/// The sun panel's state.
#[derive(Debug, Clone, PartialEq)]
pub struct SunPanel {
    pub on: bool,
    pub year: i64,
    pub month: u32,
    pub day: u32,
    /// Local clock hours, 0..24.
    pub hour: f64,
}

impl Default for SunPanel {
    fn default() -> Self {
        Self { on: false, year: 2026, month: 6, day: 21, hour: 15.0 }
    }
}

impl SunPanel {
    /// The panel showing the local date and time of `ms` (Unix ms).
    pub fn at(ms: i64, utc_offset_h: i32) -> Self {
        let local = ms + i64::from(utc_offset_h) * 3_600_000;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400_000));
        let hour = local.rem_euclid(86_400_000) as f64 / 3_600_000.0;
        Self { on: true, year, month, day, hour }
    }

    /// The panel's rows; pushes the new time (or none: the fixed afternoon light) when changed.
    pub fn show(&mut self, ui: &mut egui::Ui, utc_offset_h: i32, actions: &mut Vec<UiAction>) {
        let before = self.clone();
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.on, "real sun");
            if self.on {
                ui.add(egui::DragValue::new(&mut self.year).range(1900..=2100));
                ui.add(egui::DragValue::new(&mut self.month).range(1..=12));
                let last = match self.month {
                    2 if self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0) => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                ui.add(egui::DragValue::new(&mut self.day).range(1..=last));
            }
        });
        if self.on {
            ui.spacing_mut().slider_width = 110.0;
            let label = format!("UTC{utc_offset_h:+}");
            ui.add(egui::Slider::new(&mut self.hour, 0.0..=24.0).step_by(0.25).text(label));
        }
        if *self != before {
            let ms = self.on.then(|| unix_ms(self.year, self.month, self.day, self.hour, utc_offset_h));
            actions.push(UiAction::Sun(ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_to_unix_time() {
        // Python: datetime(2000, 3, 1, tzinfo=utc).timestamp() = 951868800.
        assert_eq!(days_from_civil(2000, 3, 1) * 86_400_000, 951_868_800_000);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        // 2026-06-21 16:30 at UTC+8 is 08:30 UTC: datetime(2026, 6, 21, 8, 30, tzinfo=utc) = 1782030600.
        assert_eq!(unix_ms(2026, 6, 21, 16.5, 8), 1_782_030_600_000);
        let p = SunPanel::at(1_782_030_600_000, 8);
        assert_eq!((p.year, p.month, p.day, p.hour), (2026, 6, 21, 16.5));
        for d in [-1000, 0, 11_016, 20_625, 60_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
