//! A one-page PDF of text lines in Helvetica (PDF 1.4, the standard fonts every reader has),
//! enough for a printable certificate without a PDF library. Text is written in
//! WinAnsiEncoding: Latin-1 letters as they are, dashes as hyphens, anything else as `?`.

/// One line: its size in points, bold or not, and the text.
pub struct Line<'a> {
    pub size: u32,
    pub bold: bool,
    pub text: &'a str,
}

fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let byte = match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                c as u8
            }
            '–' | '—' | '→' => b'-',
            c if (c as u32) < 0x20 => b' ',
            c if (c as u32) <= 0xFF => c as u32 as u8,
            _ => b'?',
        };
        out.push(byte);
    }
    out
}

/// A landscape letter page with the lines from the top, left-aligned at one inch.
pub fn page(lines: &[Line<'_>]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut y = 540;
    for line in lines {
        let font = if line.bold { "F2" } else { "F1" };
        content.extend_from_slice(format!("BT /{font} {} Tf 72 {y} Td (", line.size).as_bytes());
        content.extend(encode(line.text));
        content.extend_from_slice(b") Tj ET\n");
        y -= line.size as i32 + 18;
    }
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 792 612] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content,
            b"\nendstream".to_vec(),
        ]
        .concat(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_a_well_formed_pdf_with_its_text() {
        let pdf = page(&[
            Line {
                size: 36,
                bold: true,
                text: "José (Pepe) Núñez",
            },
            Line {
                size: 14,
                bold: false,
                text: "1 May – 2 June",
            },
        ]);
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert!(
            has(b"Jos\xe9 \\(Pepe\\) N\xfa\xf1ez"),
            "Latin-1 letters, escaped parentheses"
        );
        assert!(has(b"1 May - 2 June"));
        // Every xref offset points at its object.
        let xref = pdf.windows(5).rposition(|w| w == b"xref\n").unwrap();
        let table = String::from_utf8(pdf[xref..].to_vec()).unwrap();
        for (i, line) in table.lines().skip(3).take(6).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "{line}"
            );
        }
    }
}
