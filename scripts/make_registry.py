"""Regenerate teachbind/data/registry.tsv from the checksums in a data folder's DATA.md.

Usage: python scripts/make_registry.py ../shared/data/DATA.md

Each registry row names a file by its path in the data mirror, its sha256, the upstream URL it was copied from
(raw GitHub at the pinned commit DATA.md names) and, where the mirror holds a gzip re-encoding of the upstream
file, the sha256 of the upstream (uncompressed) content. Files generated locally have no URL.
"""

import re
import sys
from pathlib import Path
from urllib.parse import quote

RAW = "https://raw.githubusercontent.com"
DEEPBIND = f"{RAW}/jisraeli/DeepBind/a9bbf5ffcdf62f2832b0bbdede43a36f4dc19426/data/encode"
DEEPRAM = f"{RAW}/MedChaabane/deepRAM/87014f400d9bdeb96f04f7ae977071188deaebeb/datasets/ChIP-seq"
IDEEP = f"{RAW}/xypan1232/iDeep/8bfea59acc6b77dff958d7645634960da2dfe234"
MKLAREN = f"{RAW}/mstrazar/mklaren/b39408dd5c41b8b583276553e2128de5dd1d9a7c/datasets/rnacontext"
BASSET = f"{RAW}/davek44/Basset/71cd8016b28b33e40357cac59ba5fbade3692ac2"
DNA_DIFFUSION = f"{RAW}/pinellolab/DNA-Diffusion/6e654ea369705e4055e2b28bc1e3669eb9b3fc8a/data"
AITAC = f"{RAW}/smaslova/AI-TAC/ec0e62c2fd8d200bf46d8e49a09f0760013d10b5/sample_data"
DEEPRAM_EXPERIMENTS = ("SERBP1_", "SUZ12_", "TAF1_", "TAF7_", "TBP_", "TCF12_", "USF1_H1-hESC", "USF2_")
UNCOMPRESSED_SHA256 = {
    "dhs_index_k562_hepg2/K562_ENCLB843GMH.txt.gz":
        "0b71b05035388273ad0b25751ae62f9d55b4373801236e802d9e2d1291e69fe0",
    "dhs_index_k562_hepg2/HepG2_ENCLB029COU.txt.gz":
        "b4d85c553f0972bd80c7f0ca9e9286aa173e21921dc7e98e609d12f1e35d152f",
}


def upstream_url(path: str) -> str:
    folder, _, rest = path.partition("/")
    name = rest.rsplit("/", 1)[-1]
    if folder == "deepbind_encode_chipseq":
        base = DEEPRAM if name.startswith(DEEPRAM_EXPERIMENTS) else DEEPBIND
        return f"{base}/{quote(name)}"
    if folder == "ionmf_clip_ideep5000":
        experiment, split, file = rest.split("/")
        return f"{IDEEP}/datasets/clip/{quote(experiment)}/5000/{split}/{file}"
    if folder == "rnacompete2009_rnacontext":
        return f"{MKLAREN}/{rest}"
    if path == "motifs/Ray2013_rbp_RNA.meme":
        return f"{IDEEP}/Ray2013_rbp_RNA.meme"
    if path == "motifs/CISBP_1.02_Homo_sapiens.meme":
        return f"{BASSET}/data/motifs/Homo_sapiens.meme"
    if path.startswith("motifs/JASPAR2024"):
        return ""
    if folder == "dhs_index_k562_hepg2":
        return f"{DNA_DIFFUSION}/{name.removesuffix('.gz')}"
    if path == "basset_metadata/targets.txt":
        return f"{BASSET}/data/models/targets.txt"
    if folder == "aitac_sample":
        return f"{AITAC}/{name}"
    raise ValueError(f"no upstream rule for {path}")


def main(data_md: str) -> None:
    text = Path(data_md).read_text()
    appendix = text[text.index("## Appendix"):]
    rows = re.findall(r"^([0-9a-f]{64})  (\S.*)$", appendix, flags=re.M)
    out = Path(__file__).resolve().parents[1] / "teachbind" / "data" / "registry.tsv"
    with open(out, "w") as handle:
        handle.write("path\tsha256\turl\turl_sha256\n")
        for sha, path in sorted(rows, key=lambda r: r[1]):
            handle.write(f"{path}\t{sha}\t{upstream_url(path)}\t{UNCOMPRESSED_SHA256.get(path, '')}\n")
    print(f"wrote {len(rows)} entries to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/DATA.md")
