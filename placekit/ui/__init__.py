"""The Streamlit front end: page scripts and the shared state they use. Analysis lives in the packages."""
