from setuptools import Extension, setup

setup(
    name="tap-intercom",
    version="0.1.0",
    description="Singer tap for Intercom: users, leads, companies, conversations and every part of them",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    # The top-level schemas/ folder ships inside the package as tap_intercom/schemas.
    packages=["tap_intercom", "tap_intercom.http", "tap_intercom.reading", "tap_intercom.records", "tap_intercom.engine", "tap_intercom.switching", "tap_intercom.schemas"],
    package_dir={"tap_intercom.schemas": "schemas"},
    package_data={"tap_intercom.schemas": ["*.json"]},
    # The checked fast path's last step in C (records/_finish.c, issue 29). Optional: where it cannot be compiled
    # (no C compiler or Python headers), the install goes on and the tap runs the same Python it replaces.
    ext_modules=[Extension("tap_intercom.records._finish", ["tap_intercom/records/_finish.c"], optional=True)],
    install_requires=[
        "singer-python==6.*",
        "requests>=2.28,<3",
        "backoff>=2.2,<3",
        "pendulum>=2.1,<4",
        "jsonschema>=2.6",
        "orjson>=3.9",
        "msgspec>=0.18",
    ],
    extras_require={"test": ["pytest>=7", "hypothesis>=6", "jsonschema>=2.6", "pyyaml>=5"]},
    entry_points={"console_scripts": ["tap-intercom=tap_intercom:main"]},
)
