"""`streamlit run …` with the private Streamlit parts this app uses deleted first, as a rename in
a release would (tests/browser/test_private_api.py): Runtime.is_active_session and the script
run context's getter. Usage: python no_private_api.py run app.py [streamlit options]"""

import sys

import streamlit.runtime as runtime
import streamlit.runtime.scriptrunner as scriptrunner

del runtime.Runtime.is_active_session
del scriptrunner.get_script_run_ctx          # Streamlit's own modules bound it already

from streamlit.web.cli import main  # noqa: E402

sys.argv = ["streamlit", *sys.argv[1:]]
main()
