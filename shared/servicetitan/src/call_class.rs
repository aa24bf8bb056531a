//! ServiceTitan's [`CallType`] (`Telecom.V2.CallType`, a wire type spelled the way
//! ServiceTitan spells it) and Switchboard's one classification vocabulary,
//! [`CallClass`]: the single conversion each way. Everything inside Switchboard speaks
//! `CallClass`; a `CallType` exists only at the API's edge.

use crate::models::CallType;
use switchboard_config::CallClass;

impl From<CallType> for CallClass {
    fn from(t: CallType) -> Self {
        match t {
            CallType::Abandoned => CallClass::Abandoned,
            CallType::Unbooked => CallClass::Unbooked,
            CallType::Excused => CallClass::Excused,
            CallType::Booked => CallClass::Booked,
            CallType::NotLead => CallClass::NotLead,
        }
    }
}

impl From<CallClass> for CallType {
    fn from(c: CallClass) -> Self {
        match c {
            CallClass::Booked => CallType::Booked,
            CallClass::Unbooked => CallType::Unbooked,
            CallClass::Excused => CallType::Excused,
            CallClass::NotLead => CallType::NotLead,
            CallClass::Abandoned => CallType::Abandoned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CallClass::servicetitan_name` (the config's `call_type`, events' `call_type`
    /// text) is exactly how `CallType` goes over the wire.
    #[test]
    fn the_servicetitan_spelling_is_the_wire_spelling() {
        for class in CallClass::ALL {
            let wire = CallType::from(class);
            assert_eq!(CallClass::from(wire), class);
            assert_eq!(
                serde_json::to_value(wire).expect("serialise"),
                serde_json::Value::String(class.servicetitan_name().to_owned())
            );
        }
    }
}
