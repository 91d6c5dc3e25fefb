"""Packages: everything under torchaug/, plus the top-level configs/ (with recipes/ linked in as
configs/recipe) shipped inside the wheel as ``torchaug.conf``."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["torchaug", "torchaug.*"]), "torchaug.conf"],
    package_dir={"torchaug.conf": "configs"},
)
