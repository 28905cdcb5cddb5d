//! GeoTIFF DEMs written here with the `tiff` crate's encoder (tags included)
//! read back with their placement, CRS and NODATA; hostile rasters are refused.

use std::io::Cursor;

use tiff::encoder::{TiffEncoder, colortype};
use tiff::tags::Tag;
use urbis_formats::geotiff;

fn write_dem(width: u32, height: u32, data: &[f32], epsg: u16, pixel_is_point: bool) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf).expect("encoder");
        let mut img = enc.new_image::<colortype::Gray32Float>(width, height).expect("image");
        img.encoder().write_tag(Tag::ModelPixelScaleTag, &[5.0f64, 5.0, 0.0][..]).expect("scale");
        img.encoder()
            .write_tag(Tag::ModelTiepointTag, &[0.0f64, 0.0, 0.0, 405_000.0, 4_320_000.0, 0.0][..])
            .expect("tie");
        let raster = if pixel_is_point { 2u16 } else { 1 };
        // GeoKey directory: version 1.1.0, 2 keys: GTRasterType, ProjectedCSType.
        img.encoder()
            .write_tag(Tag::GeoKeyDirectoryTag, &[1u16, 1, 0, 2, 1025, 0, 1, raster, 3072, 0, 1, epsg][..])
            .expect("keys");
        img.encoder().write_tag(Tag::GdalNodata, "-9999").expect("nodata");
        img.write_data(data).expect("data");
    }
    buf.into_inner()
}

#[test]
fn placement_crs_and_nodata() {
    let data = [1.0f32, 2.0, 3.0, 4.0, -9999.0, 6.0];
    let g = geotiff::parse(&write_dem(3, 2, &data, 4548, false), "dem.tif").expect("parse");
    assert_eq!((g.ncols, g.nrows, g.cell_size), (3, 2, 5.0));
    assert_eq!(g.crs.map(|c| c.0), Some(4548));
    assert_eq!((g.x_min, g.y_min), (405_000.0, 4_320_000.0 - 10.0));
    assert_eq!(g.height(0, 0), Some(1.0));
    assert_eq!(g.height(1, 1), None);
    assert_eq!(g.cell_center(0, 0), (405_002.5, 4_319_997.5));
    // PixelIsPoint puts the tie point on the first pixel's centre.
    let p = geotiff::parse(&write_dem(3, 2, &data, 4548, true), "point.tif").expect("parse");
    assert_eq!(p.cell_center(0, 0), (405_000.0, 4_320_000.0));
}

#[test]
fn hostile_rasters_are_refused() {
    let good = write_dem(3, 2, &[0.0; 6], 4548, false);
    for cut in [0, 4, 8, 16, good.len() / 2, good.len() - 4] {
        assert!(geotiff::parse(&good[..cut], "cut.tif").is_err(), "cut at {cut}");
    }
    // A header claiming 1e6 × 1e6 pixels: refused before anything is allocated.
    let mut buf = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf).expect("encoder");
        let img = enc.new_image::<colortype::Gray32Float>(1, 1).expect("image");
        img.write_data(&[0.0f32]).expect("data");
    }
    let mut huge = buf.into_inner();
    // Patch ImageWidth (256) and ImageLength (257) entries of the first IFD to 1,000,000.
    let ifd = u32::from_le_bytes([huge[4], huge[5], huge[6], huge[7]]) as usize;
    let n = u16::from_le_bytes([huge[ifd], huge[ifd + 1]]) as usize;
    for k in 0..n {
        let e = ifd + 2 + 12 * k;
        let tag = u16::from_le_bytes([huge[e], huge[e + 1]]);
        if tag == 256 || tag == 257 {
            huge[e + 2..e + 4].copy_from_slice(&4u16.to_le_bytes());
            huge[e + 4..e + 8].copy_from_slice(&1u32.to_le_bytes());
            huge[e + 8..e + 12].copy_from_slice(&1_000_000u32.to_le_bytes());
        }
    }
    let e = geotiff::parse(&huge, "huge.tif").expect_err("huge").to_string();
    assert!(e.contains("huge.tif"), "{e}");
    assert!(geotiff::parse(b"not a tiff", "x.tif").unwrap_err().to_string().contains("x.tif"));
}
