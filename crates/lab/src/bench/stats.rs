//! Quantiles and the summary of a set of measurements.

use serde::Serialize;

/// The `q`-quantile (0 ≤ q ≤ 1) of sorted values, linearly interpolated between the two
/// nearest ranks (the usual "type 7" definition: the median of an even count is the mean
/// of the middle two). `None` when empty.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// Distribution of a set of measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) min: f64,
    pub(crate) median: f64,
    pub(crate) p90: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
}

impl Summary {
    pub(crate) fn of(values: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Some(Summary {
            n: v.len(),
            min: *v.first()?,
            median: quantile(&v, 0.5)?,
            p90: quantile(&v, 0.9)?,
            max: *v.last()?,
            mean: v.iter().sum::<f64>() / v.len() as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 10.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 10.0], 1.0), Some(10.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 10.0], 0.0), Some(1.0));
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert!((quantile(&v, 0.9).unwrap() - 9.0).abs() < 1e-9);
        let s = Summary::of(&[3.0, 1.0, f64::NAN, 2.0, 10.0]).unwrap();
        assert_eq!(
            (s.n, s.min, s.median, s.max, s.mean),
            (4, 1.0, 2.5, 10.0, 4.0)
        );
        assert!(Summary::of(&[]).is_none());
    }
}
