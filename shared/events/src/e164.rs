//! Phone numbers to E.164 (`+15125550101`). Providers send `+1 (512) 555-0101`,
//! `5125550101`, `15125550101` or already E.164; North American numbers without a country
//! code are assumed (Switchboard's customers are US and Canadian businesses). Anything that
//! cannot be a phone number (a SIP URI, "anonymous") is kept as received, so nothing is lost.

/// The E.164 form of `raw`, or `raw` unchanged when it is not a recognisable number.
pub fn normalise(raw: &str) -> String {
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    if trimmed.is_empty()
        || !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return trimmed.to_owned();
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    match (plus, digits.len()) {
        (true, 8..=15) => format!("+{digits}"),
        (false, 10) => format!("+1{digits}"),
        (false, 11) if digits.starts_with('1') => format!("+{digits}"),
        _ => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn north_american_forms_become_e164() {
        for raw in [
            "+15125550101",
            "+1 (512) 555-0101",
            "5125550101",
            "15125550101",
            "512-555-0101",
            " 512.555.0101 ",
        ] {
            assert_eq!(normalise(raw), "+15125550101", "{raw}");
        }
        assert_eq!(normalise("+44 20 7946 0958"), "+442079460958");
    }

    #[test]
    fn non_numbers_are_kept() {
        for raw in ["anonymous", "sip:agent@example.com", "", "12345"] {
            assert_eq!(normalise(raw), raw.trim());
        }
    }

    proptest::proptest! {
        #[test]
        fn normalising_is_idempotent(raw in "[0-9 +()-.]{0,20}|[a-z:@.]{0,20}") {
            let once = normalise(&raw);
            proptest::prop_assert_eq!(normalise(&once), once.clone());
        }
    }
}
