//! ISBN checking and the EAN-13 barcode of the back cover, computed here (no barcode crate):
//! the bars are a list of modules the template draws as rectangles.

/// An ISBN the identifier names: `urn:isbn:…`, `isbn:…` or `ISBN …`, with or without hyphens
/// and spaces. `Ok(None)` when the identifier is not an ISBN at all (a UUID or another URN);
/// `Err` when it says it is an ISBN and is not a valid one.
pub fn isbn_from_identifier(identifier: &str) -> Result<Option<[u8; 13]>, String> {
    let id = identifier.trim();
    let lower = id.to_ascii_lowercase();
    let rest = ["urn:isbn:", "isbn:", "isbn-13:", "isbn-10:", "isbn "]
        .iter()
        .find_map(|p| lower.strip_prefix(p).map(|_| &id[p.len()..]));
    let Some(rest) = rest else {
        return Ok(None);
    };
    parse_isbn(rest).map(Some)
}

/// An ISBN-13 or ISBN-10 (hyphens and spaces allowed) as the 13 digits of its EAN; the check
/// digit is verified.
pub fn parse_isbn(text: &str) -> Result<[u8; 13], String> {
    let chars: Vec<char> = text
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect();
    let bad = |why: &str| format!("`{}` is not a valid ISBN: {why}", text.trim());
    match chars.len() {
        13 => {
            let mut d = [0u8; 13];
            for (i, c) in chars.iter().enumerate() {
                d[i] = c
                    .to_digit(10)
                    .ok_or_else(|| bad("an ISBN-13 has only digits"))? as u8;
            }
            if d[..3] != [9, 7, 8] && d[..3] != [9, 7, 9] {
                return Err(bad("an ISBN-13 starts with 978 or 979"));
            }
            let check = ean_check_digit(&d[..12]);
            if check != d[12] {
                return Err(bad(&format!(
                    "its check digit is {}, but the first twelve digits give {check}",
                    d[12]
                )));
            }
            Ok(d)
        }
        10 => {
            let mut v = [0u32; 10];
            for (i, c) in chars.iter().enumerate() {
                v[i] = match c {
                    'X' | 'x' if i == 9 => 10,
                    c => c
                        .to_digit(10)
                        .ok_or_else(|| bad("an ISBN-10 has digits and a final X only"))?,
                };
            }
            let sum: u32 = v.iter().enumerate().map(|(i, x)| (10 - i as u32) * x).sum();
            if !sum.is_multiple_of(11) {
                return Err(bad("its check digit does not match"));
            }
            // The EAN of an ISBN-10 is 978, its first nine digits, and a new check digit.
            let mut d = [0u8; 13];
            d[..3].copy_from_slice(&[9, 7, 8]);
            for i in 0..9 {
                d[3 + i] = v[i] as u8;
            }
            d[12] = ean_check_digit(&d[..12]);
            Ok(d)
        }
        n => Err(bad(&format!("it has {n} digits, not 13 (or 10)"))),
    }
}

/// The EAN-13 check digit of twelve digits: weights 1, 3, 1, 3… from the left.
pub fn ean_check_digit(d: &[u8]) -> u8 {
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| x as u32 * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// The ISBN-13 written with hyphens after the prefix only (`978-9953876543`): the group and
/// publisher boundaries need the ISBN agency's range table, so they are not guessed.
pub fn isbn_text(d: &[u8; 13]) -> String {
    let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
    format!("ISBN {}-{}", &s[..3], &s[3..])
}

/// The 95 modules of an EAN-13 symbol (`true` = bar), without quiet zones.
pub fn ean13_modules(d: &[u8; 13]) -> Vec<bool> {
    // Left-hand odd (L) codes; G codes are the R codes reversed; R codes are L inverted.
    const L: [u8; 10] = [
        0b0001101, 0b0011001, 0b0010011, 0b0111101, 0b0100011, 0b0110001, 0b0101111, 0b0111011,
        0b0110111, 0b0001011,
    ];
    // Which of the six left digits use G (1) instead of L (0), by the first digit.
    const PARITY: [u8; 10] = [
        0b000000, 0b001011, 0b001101, 0b001110, 0b010011, 0b011001, 0b011100, 0b010101, 0b010110,
        0b011010,
    ];
    let bits = |code: u8| (0..7).rev().map(move |i| code >> i & 1 == 1);
    let r = |x: u8| !L[x as usize] & 0x7f;
    let g = |x: u8| (r(x).reverse_bits() >> 1) & 0x7f;
    let mut out = Vec::with_capacity(95);
    out.extend([true, false, true]);
    for i in 0..6 {
        let digit = d[1 + i];
        let uses_g = PARITY[d[0] as usize] >> (5 - i) & 1 == 1;
        out.extend(bits(if uses_g { g(digit) } else { L[digit as usize] }));
    }
    out.extend([false, true, false, true, false]);
    for &digit in &d[7..13] {
        out.extend(bits(r(digit)));
    }
    out.extend([true, false, true]);
    out
}

/// The bars of the modules as `(start, width)` in modules, for drawing.
pub fn bars(modules: &[bool]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, &m) in modules.iter().enumerate() {
        if !m {
            continue;
        }
        match out.last_mut() {
            Some((start, w)) if *start + *w == i => *w += 1,
            _ => out.push((i, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits() {
        // ISBN 978-0-306-40615-7 is the standard worked example.
        assert_eq!(ean_check_digit(&[9, 7, 8, 0, 3, 0, 6, 4, 0, 6, 1, 5]), 7);
        assert!(parse_isbn("978-0-306-40615-7").is_ok());
        let err = parse_isbn("978-0-306-40615-8").unwrap_err();
        assert!(err.contains("check digit is 8"), "{err}");
        // ISBN-10 0-306-40615-2 is the same book.
        assert_eq!(
            parse_isbn("0-306-40615-2").unwrap(),
            parse_isbn("9780306406157").unwrap()
        );
        assert!(parse_isbn("0-306-40615-3").is_err());
        assert!(parse_isbn("123").is_err());
        assert!(parse_isbn("1234567890123").is_err());
    }

    #[test]
    fn identifiers() {
        assert!(
            isbn_from_identifier("urn:isbn:9780306406157")
                .unwrap()
                .is_some()
        );
        assert!(
            isbn_from_identifier("ISBN 978-0-306-40615-7")
                .unwrap()
                .is_some()
        );
        assert!(isbn_from_identifier("urn:isbn:9780306406158").is_err());
        assert_eq!(
            isbn_from_identifier("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
            Ok(None)
        );
    }

    #[test]
    fn ean13_pattern() {
        // 4006381333931 (a common worked example): first digit 4 → L G L L G G.
        let d = [4, 0, 0, 6, 3, 8, 1, 3, 3, 3, 9, 3, 1];
        let m = ean13_modules(&d);
        assert_eq!(m.len(), 95);
        let s: String = m.iter().map(|&b| if b { '1' } else { '0' }).collect();
        // start, 0(L)=0001101, 0(G)=0100111, 6(L)=0101111, 3(L)=0111101, 8(G)=0001001,
        // 1(G)=0110011, centre, R codes of 333931, end.
        let expected = concat!(
            "101", "0001101", "0100111", "0101111", "0111101", "0001001", "0110011", "01010",
            "1000010", "1000010", "1000010", "1110100", "1000010", "1100110", "101"
        );
        assert_eq!(s, expected);
        let b = bars(&m);
        assert_eq!(b[0], (0, 1));
        assert_eq!(b.iter().map(|x| x.1).sum::<usize>(), s.matches('1').count());
    }
}
