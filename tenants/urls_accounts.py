"""Sign-in, OTP and invitation pages, mounted under /accounts/."""

from django.urls import path

from tenants.views import auth

app_name = "accounts"

urlpatterns = [
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("otp/", auth.otp_verify_view, name="otp-verify"),
    path("otp/enrol/", auth.otp_enrol_view, name="otp-enrol"),
    path("invitation/<str:token>/", auth.invitation_accept_view, name="invitation"),
]
