//! The cash-flow workbook: one sheet per rating level, plus the grid.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

use crate::deal::Deal;
use crate::methodology::Notch;
use crate::rating::RatingResult;
use crate::waterfall::{NoteOutcome, Period};

fn num(d: rust_decimal::Decimal) -> f64 {
    rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(0.0)
}

/// A new workbook whose document date is fixed (the deal's closing date), so the same inputs
/// give the same file.
pub(crate) fn new_workbook(deal: &Deal) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    let d = deal.closing;
    use chrono::Datelike;
    let created = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&created)
            .set_title(&deal.name),
    );
    Ok(wb)
}

/// The `grid` sheet: one row per level, one column per class, `pass` or `fail p<period>`.
pub(crate) fn grid_sheet<'a>(
    wb: &mut Workbook,
    deal: &Deal,
    levels: impl Iterator<Item = (Notch, &'a [NoteOutcome])>,
    bold: &Format,
) -> Result<(), XlsxError> {
    let grid = wb.add_worksheet();
    grid.set_name("grid")?;
    grid.write_string_with_format(0, 0, "level", bold)?;
    for (k, n) in deal.notes.iter().enumerate() {
        grid.write_string_with_format(0, 1 + k as u16, format!("Class {}", n.class), bold)?;
    }
    for (i, (notch, notes)) in levels.enumerate() {
        grid.write_string(1 + i as u32, 0, notch.to_string())?;
        for (k, o) in notes.iter().enumerate() {
            let text = if o.passed {
                "pass".to_string()
            } else {
                format!("fail p{}", o.first_failing_period.unwrap_or(0))
            };
            grid.write_string(1 + i as u32, 1 + k as u16, text)?;
        }
    }
    Ok(())
}

/// The workbook's bytes.
pub fn workbook(deal: &Deal, r: &RatingResult) -> Result<Vec<u8>, XlsxError> {
    let mut wb = new_workbook(deal)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    grid_sheet(
        &mut wb,
        deal,
        r.levels.iter().map(|l| (l.notch, l.notes.as_slice())),
        &bold,
    )?;

    for l in &r.levels {
        let ws = wb.add_worksheet();
        ws.set_name(l.notch.to_string())?;
        let mut headers: Vec<String> = [
            "period",
            "date",
            "phase",
            "performing start",
            "defaults",
            "recoveries",
            "interest due",
            "interest cash",
            "maturities",
            "available",
            "fees",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for n in &deal.notes {
            headers.push(format!("{} interest", n.class));
            headers.push(format!("{} principal", n.class));
            headers.push(format!("{} balance", n.class));
        }
        headers.extend(
            ["reserve", "reinvested", "residual"]
                .iter()
                .map(|s| s.to_string()),
        );
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (i, p) in l.run.periods.iter().enumerate() {
            write_period(ws, 1 + i as u32, p, &money)?;
        }
    }
    wb.save_to_buffer()
}

fn write_period(
    ws: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    p: &Period,
    money: &Format,
) -> Result<(), XlsxError> {
    ws.write_number(row, 0, p.period)?;
    ws.write_string(row, 1, p.date.to_string())?;
    ws.write_string(
        row,
        2,
        if p.revolving {
            "revolving"
        } else {
            "amortizing"
        },
    )?;
    let mut col = 3u16;
    for v in [
        p.performing_start,
        p.defaults,
        p.recoveries,
        p.interest_due,
        p.interest_cash,
        p.maturities,
        p.available,
        p.fees_paid,
    ] {
        ws.write_number_with_format(row, col, num(v), money)?;
        col += 1;
    }
    for k in 0..p.interest_paid.len() {
        for v in [
            p.interest_paid[k],
            p.principal_paid[k],
            p.note_balance_end[k],
        ] {
            ws.write_number_with_format(row, col, num(v), money)?;
            col += 1;
        }
    }
    for v in [p.reserve_end, p.reinvested, p.residual] {
        ws.write_number_with_format(row, col, num(v), money)?;
        col += 1;
    }
    Ok(())
}
