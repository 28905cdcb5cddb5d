//! User data: `osg::DefaultUserDataContainer` (`UserDataContainer.cpp`)
//! and the `osg::*ValueObject`s it usually holds (`ValueObject.cpp`).

use super::parse::{Obj, ObjectFields, Parsed, Parser};
use super::stream::Res;
use super::{UserData, UserValue};

impl Parser<'_> {
    pub(super) fn absorb_user_object(&self, user: &mut UserData, obj: Obj) {
        match obj.value {
            Parsed::UserData(u) => {
                user.descriptions.extend(u.descriptions);
                user.values.extend(u.values);
            }
            Parsed::Value(name, v) => user.values.push((name, v)),
            _ => {}
        }
    }

    /// `UserDataContainer.cpp` (DefaultUserDataContainer).
    pub(super) fn user_data_container(&mut self, object: ObjectFields) -> Res<UserData> {
        let mut user = object.user;
        if self.s.bool("UDC_UserData")? {
            self.s.begin()?;
            if let Some(obj) = self.read_object()? {
                self.absorb_user_object(&mut user, obj);
            }
            self.s.end();
        }
        if self.s.bool("UDC_Descriptions")? {
            let d = self.string_list("UDC_Descriptions")?;
            user.descriptions.extend(d);
        }
        if self.s.bool("UDC_UserObjects")? {
            let at = self.s.pos();
            let n = self.s.u32("UDC_UserObjects count")?;
            self.s.check_count(u64::from(n), 4, "UDC_UserObjects", at)?;
            self.s.begin()?;
            for _ in 0..n {
                if let Some(obj) = self.read_object()? {
                    self.absorb_user_object(&mut user, obj);
                }
            }
            self.s.end();
        }
        Ok(user)
    }

    /// `ValueObject.cpp`: the `Value` field of `osg::<Type>ValueObject`.
    pub(super) fn value_object(&mut self, class: &str) -> Res<UserValue> {
        let w = "ValueObject::Value";
        let nums = |p: &mut Self, n: usize, double: bool| -> Res<UserValue> {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(if double { p.s.f64(w)? } else { f64::from(p.s.f32(w)?) });
            }
            Ok(UserValue::Numbers(v))
        };
        Ok(match class.trim_end_matches("ValueObject") {
            "Bool" => UserValue::Bool(self.s.bool(w)?),
            "Char" => UserValue::Int(i64::from(self.s.u8(w)? as i8)),
            "UChar" => UserValue::UInt(u64::from(self.s.u8(w)?)),
            "Short" => UserValue::Int(i64::from(self.s.i16(w)?)),
            "UShort" => UserValue::UInt(u64::from(self.s.u16(w)?)),
            "Int" => UserValue::Int(i64::from(self.s.i32(w)?)),
            "UInt" => UserValue::UInt(u64::from(self.s.u32(w)?)),
            "Float" => UserValue::Float(f64::from(self.s.f32(w)?)),
            "Double" => UserValue::Float(self.s.f64(w)?),
            "String" => UserValue::String(self.s.string(w)?),
            "Vec2f" => nums(self, 2, false)?,
            "Vec3f" => nums(self, 3, false)?,
            "Vec4f" => nums(self, 4, false)?,
            "Vec2d" => nums(self, 2, true)?,
            "Vec3d" => nums(self, 3, true)?,
            "Vec4d" | "Plane" | "Quat" => nums(self, 4, true)?,
            _ => {
                // Matrixf / Matrixd: bracketed 16 doubles.
                let m = self.matrix(w)?;
                UserValue::Numbers(m.to_cols_array().to_vec())
            }
        })
    }
}
