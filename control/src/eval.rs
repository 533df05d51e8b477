pub fn evaluate(_s: &crate::model::Scenario, _p: &crate::packet::Packet, _c: crate::verdict::Context) -> crate::verdict::Decision { todo!() }
