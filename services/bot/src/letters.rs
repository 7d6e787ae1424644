//! Letters that one language writes several ways, made one (after [`fold`](crate::normalize::fold),
//! which already drops accents, Arabic vowel marks and Hebrew points, and splits hamza-carrying
//! alef forms into a bare alef):
//! - Arabic: the tatweel (the stretching `ـ`) is dropped; alef wasla `ٱ` becomes `ا`, alef
//!   maqsura `ى` becomes `ي`, teh marbuta `ة` becomes `ه` (customers type both); Persian
//!   yeh and keheh become Arabic `ي` and `ك`; Arabic-Indic digits become `0`–`9`;
//! - Hebrew: final letters (`ך ם ן ף ץ`) become their ordinary forms, so a word compares
//!   the same whether or not a prefix or suffix moved its end.

/// `folded` with the letters above made one (tatweel removed).
pub fn normalize_letters(folded: &str) -> String {
    folded.chars().filter_map(letter).collect()
}

fn letter(c: char) -> Option<char> {
    Some(match c {
        '\u{0640}' => return None,
        'ٱ' | 'أ' | 'إ' | 'آ' => 'ا',
        'ى' | 'ی' | 'ې' => 'ي',
        'ة' => 'ه',
        'ک' => 'ك',
        '٠'..='٩' => digit(c, '٠'),
        '۰'..='۹' => digit(c, '۰'),
        'ך' => 'כ',
        'ם' => 'מ',
        'ן' => 'נ',
        'ף' => 'פ',
        'ץ' => 'צ',
        _ => c,
    })
}

fn digit(c: char, zero: char) -> char {
    let value = u32::from(c) - u32::from(zero);
    char::from_digit(value, 10).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::normalize_letters;
    use crate::normalize::fold;

    #[test]
    fn arabic_forms_are_one() {
        assert_eq!(
            normalize_letters(&fold("متـــى")),
            normalize_letters(&fold("متى"))
        );
        assert_eq!(normalize_letters(&fold("أُرِيدُ")), "اريد");
        assert_eq!(normalize_letters(&fold("إرجاع")), "ارجاع");
        assert_eq!(normalize_letters("القهوة"), "القهوه");
        assert_eq!(normalize_letters("على"), "علي");
        assert_eq!(normalize_letters("٣٠"), "30");
    }

    #[test]
    fn hebrew_final_letters_are_ordinary() {
        assert_eq!(normalize_letters(&fold("שָׁלוֹם")), "שלומ");
        assert_eq!(normalize_letters("חנויות"), "חנויות");
    }
}
